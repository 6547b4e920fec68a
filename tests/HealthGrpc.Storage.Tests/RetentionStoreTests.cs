using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>SQLite retention (IRetentionStore): bounded purges, the change-feed floor, rollups kept, ingest between batches, ack compaction.</summary>
public sealed class RetentionStoreTests : IAsyncLifetime, IDisposable
{
    private const long Old = 1_700_000_000_000;
    private const long Recent = Old + 30L * 86_400_000;
    private readonly TempDirectory _directory = new();
    private SqliteHealthStore _store = null!;

    public async Task InitializeAsync() => _store = await SqliteHealthStore.OpenAsync(_directory.File("retention.db")).T30();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    private static List<SampleRecord> HeartRateSamples(int count, long start) =>
        Enumerable.Range(0, count).Select(i => Sample(start: start + i * 1000L, value: 60 + i % 40)).ToList();

    [Fact]
    public async Task Purge_takes_bounded_batches_moves_the_floor_and_keeps_the_rollups()
    {
        var user = NewUser();
        await _store.CommitAsync(Batch(user, "d", 1, HeartRateSamples(1000, Old)), CancellationToken.None).T30();
        await _store.CommitAsync(Batch(user, "d", 2, HeartRateSamples(10, Recent)), CancellationToken.None).T30();
        var rollups = await _store.ReadRollupsAsync(user, TestData.HeartRate, long.MinValue, long.MaxValue, CancellationToken.None).T30();

        var calls = new List<PurgeResult>();
        PurgeResult result;
        do
        {
            result = await _store.PurgeAsync(TestData.HeartRate, Recent, 300, CancellationToken.None).T30();
            calls.Add(result);
        }
        while (result.More);

        Assert.Equal([300, 300, 300, 100], calls.Select(call => call.Purged));
        Assert.Equal(10L, await _store.CountSamplesAsync(user, CancellationToken.None).T30());
        Assert.Equal(1000L, await _store.GetChangeFloorAsync(user, CancellationToken.None).T30());
        Assert.Equal(rollups, await _store.ReadRollupsAsync(user, TestData.HeartRate, long.MinValue, long.MaxValue, CancellationToken.None).T30());
        var feed = await ReadAllChangesAsync(_store, user, after: 1000);
        Assert.Equal(Enumerable.Range(1001, 10).Select(i => (long)i), feed.Select(change => change.Sequence));
    }

    [Fact]
    public async Task Ingest_commits_between_two_purge_batches()
    {
        var user = NewUser();
        for (ulong seq = 1; seq <= 4; seq++)
        {
            await _store.CommitAsync(Batch(user, "d", seq, HeartRateSamples(5000, Old + (long)seq * 10_000_000)), CancellationToken.None).T30();
        }

        var first = await _store.PurgeAsync(TestData.HeartRate, Recent, 2000, CancellationToken.None).T30();
        var ingest = _store.CommitAsync(Batch(user, "d", 5, HeartRateSamples(10, Recent)), CancellationToken.None);
        var second = await _store.PurgeAsync(TestData.HeartRate, Recent, 2000, CancellationToken.None).T30();

        // The writer's queue is first in, first out: the batch queued after one purge batch commits before the next.
        Assert.True(first.More && second.More);
        Assert.True(ingest.IsCompletedSuccessfully);
        Assert.Equal(10, (await ingest.T30()).Committed().Accepted);
    }

    [Fact]
    public async Task Compaction_keeps_each_epochs_latest_ack_and_replays_stay_duplicates()
    {
        var user = NewUser();
        for (ulong seq = 1; seq <= 5; seq++)
        {
            await _store.CommitAsync(Batch(user, "d", seq, HeartRateSamples(2, Old + (long)seq * 10_000)), CancellationToken.None).T30();
        }

        var latestAck = Assert.IsType<CommitOutcome.Duplicate>(await _store.CommitAsync(Batch(user, "d", 5), CancellationToken.None).T30()).OriginalAckBytes;
        var now = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds();
        var firstStep = await _store.CompactAcksAsync(now, 0, 3, CancellationToken.None).T30();
        var secondStep = await _store.CompactAcksAsync(now, firstStep.Position, 3, CancellationToken.None).T30();

        Assert.Equal((3, false), (firstStep.Compacted, firstStep.Done));
        Assert.Equal((1, true), (secondStep.Compacted, secondStep.Done));
        var compacted = Assert.IsType<CommitOutcome.Duplicate>(await _store.CommitAsync(Batch(user, "d", 2), CancellationToken.None).T30());
        Assert.Equal((0, 5ul), (compacted.OriginalAckBytes.Length, compacted.HighWaterMark));
        var kept = Assert.IsType<CommitOutcome.Duplicate>(await _store.CommitAsync(Batch(user, "d", 5), CancellationToken.None).T30());
        Assert.Equal(latestAck, kept.OriginalAckBytes);
        Assert.NotEmpty(kept.OriginalAckBytes);
    }

    [Fact]
    public async Task Ack_compaction_never_passes_a_batch_too_young_and_its_position_survives_a_reopen()
    {
        var user = NewUser();
        for (ulong seq = 1; seq <= 4; seq++)
        {
            await _store.CommitAsync(Batch(user, "d", seq, HeartRateSamples(2, Old + (long)seq * 10_000)), CancellationToken.None).T30();
        }

        // Every batch is younger than the limit: nothing is compacted and the position stays before them, so a later
        // sweep, once they are old, still finds them.
        var tooYoung = await _store.CompactAcksAsync(0, 0, 10, CancellationToken.None).T30();
        Assert.Equal((0, 0L, true), (tooYoung.Compacted, tooYoung.Position, tooYoung.Done));
        Assert.Equal(0L, await _store.GetAckCompactionPositionAsync(CancellationToken.None).T30());

        var old = await _store.CompactAcksAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), tooYoung.Position, 10, CancellationToken.None).T30();
        Assert.Equal((3, true), (old.Compacted, old.Done)); // the epoch's latest batch keeps its ack
        Assert.True(old.Position > 0);

        await _store.DisposeAsync();
        _store = await SqliteHealthStore.OpenAsync(_directory.File("retention.db")).T30();
        Assert.Equal(old.Position, await _store.GetAckCompactionPositionAsync(CancellationToken.None).T30());
    }
}
