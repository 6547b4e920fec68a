using System.Diagnostics;
using HealthGrpc.Storage.Tests;
using Xunit.Abstractions;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>
/// A quick same-run measurement: heart-rate samples through <see cref="IHealthStore.CommitAsync"/> on PostgreSQL
/// (concurrent devices, pipelined batches, group commit) against <see cref="PostgresRawCopyBaseline"/> (binary COPY of
/// the same rows into the same table), alternating twice, best of each. Wall clock only: most of the work is in the
/// PostgreSQL server process, so this process's CPU time says little. Prints rows/s and the ratio; asserts only a low
/// floor (the machines are shared and noisy).
/// </summary>
[Collection(nameof(PostgresThroughputCollection))]
public sealed class PostgresThroughputTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Performance")]
    public async Task CommitAsync_Throughput_AgainstARawCopyOfTheSameRows()
    {
        const int Devices = 4, BatchSize = 5_000, BatchesPerDevice = 4;
        const int Total = Devices * BatchSize * BatchesPerDevice;
        var samples = Enumerable.Range(0, Total)
            .Select(i => new SampleRecord(Guid.NewGuid(), HeartRate, null, 1_700_000_000_000 + i * 1000L, 1_700_000_000_000 + i * 1000L, 60,
                60 + (i % 80), null, "count/min", Watch, null, 0, null))
            .ToList();

        TimeSpan storeElapsed = TimeSpan.MaxValue, rawElapsed = TimeSpan.MaxValue;
        for (var round = 0; round < 2; round++)
        {
            var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
            await using (var store = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options with { GroupCommit = new GroupCommitOptions() }).T30())
            {
                var user = NewUser();
                var clock = Stopwatch.StartNew();
                var outcomes = await Task.WhenAll(Enumerable.Range(0, Devices).Select(d => Task.Run(async () =>
                {
                    var pipelined = Enumerable.Range(0, BatchesPerDevice).Select(b => store.CommitAsync(
                        Batch(user, $"d{d}", (ulong)b + 1, samples.GetRange((d * BatchesPerDevice + b) * BatchSize, BatchSize)), CancellationToken.None));
                    return await Task.WhenAll(pipelined);
                }))).WaitAsync(TimeSpan.FromMinutes(2));
                storeElapsed = Min(storeElapsed, clock.Elapsed);
                Assert.All(outcomes.SelectMany(o => o), o => Assert.Equal(BatchSize, o.Committed().Accepted));
                Assert.Equal((long)Total, await PostgresTestDatabase.CountSamplesAsync(connectionString, user).T30());
            }

            var raw = Stopwatch.StartNew();
            await PostgresRawCopyBaseline.CopySamplesAsync(await PostgresTestDatabase.NewSchemaAsync().T30(), "raw", samples).WaitAsync(TimeSpan.FromMinutes(2));
            rawElapsed = Min(rawElapsed, raw.Elapsed);
        }

        var (storeRate, rawRate) = (Total / storeElapsed.TotalSeconds, Total / rawElapsed.TotalSeconds);
        output.WriteLine($"PostgreSQL CommitAsync: {Total:N0} samples in {storeElapsed.TotalMilliseconds:N0} ms = {storeRate:N0} rows/s (best of 2)");
        output.WriteLine($"PostgreSQL raw COPY:    {Total:N0} samples in {rawElapsed.TotalMilliseconds:N0} ms = {rawRate:N0} rows/s (best of 2)");
        output.WriteLine($"Ratio store/raw: {storeRate / rawRate:P0}");
        Assert.True(storeRate >= 0.1 * rawRate, $"the store ran at {storeRate / rawRate:P0} of a raw COPY of the same rows");
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

[CollectionDefinition(nameof(PostgresThroughputCollection), DisableParallelization = true)]
public sealed class PostgresThroughputCollection;
