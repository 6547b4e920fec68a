using System.Diagnostics;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Sqlite;
using Xunit.Abstractions;

namespace HealthGrpc.Client.Tests;

/// <summary>
/// Drain throughput / memory and tier-1 latency on loopback, printed in the test output. Bounded sizes by default;
/// set HEALTHGRPC_CLIENT_BENCH_SAMPLES=1000000 for the full backlog. For the drain the server is a child process, so
/// the memory figures are the client's alone. Each runs plaintext and with the queue encrypted (AES-256-GCM), back to back
/// in the same run, so the cost of encryption is read off one machine state.
/// </summary>
public sealed class MeasurementTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Drain_Backlog_ReportsSamplesPerSecondAndPeakMemory(bool encrypted)
    {
        var total = int.TryParse(Environment.GetEnvironmentVariable("HEALTHGRPC_CLIENT_BENCH_SAMPLES"), out var n) ? n : 100_000;
        var dir = TempDir.Create();
        var serverDb = Path.Combine(dir, "server.db");
        var port = ServerProcess.FreePort();
        var token = await ServerProcess.CreateUserAsync(serverDb, "user-1");
        using var server = ServerProcess.Start(port, serverDb);
        await ServerProcess.WaitForPortAsync(port);
        var options = new HealthSyncOptions
        {
            ServerAddress = new Uri($"http://127.0.0.1:{port}"),
            DatabasePath = Path.Combine(dir, "client.db"),
            AccessToken = token,
            MaxSamplesPerBatch = 5_000,
            AckTimeout = TimeSpan.FromSeconds(30),
            QueueKeyProvider = encrypted ? new StaticQueueKeyProvider(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) : null,
        };
        var client = await HealthSyncClient.OpenAsync(options).WaitAsync(TestClient.Timeout);
        try
        {
            var enqueueWatch = Stopwatch.StartNew();
            var end = DateTimeOffset.UtcNow.AddHours(-1);
            for (var done = 0; done < total; done += 50_000)
            {
                var chunk = Math.Min(50_000, total - done);
                await client.EnqueueAsync([TestClient.HeartRate(chunk, end.AddSeconds(-(total - done - chunk)))]).WaitAsync(TimeSpan.FromMinutes(5));
            }

            enqueueWatch.Stop();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var process = Process.GetCurrentProcess();
            process.Refresh();
            var baselineWs = process.WorkingSet64;
            var baselineHeap = GC.GetTotalMemory(forceFullCollection: true);
            long peakWs = baselineWs, peakHeap = baselineHeap;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    process.Refresh();
                    peakWs = Math.Max(peakWs, process.WorkingSet64);
                    peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
                    await Task.Delay(50);
                }
            });

            var watch = Stopwatch.StartNew();
            await client.WaitUntilDrainedAsync().WaitAsync(TimeSpan.FromMinutes(30));
            watch.Stop();
            await sampling.CancelAsync();
            await sampler.WaitAsync(TimeSpan.FromSeconds(10));
            output.WriteLine(encrypted ? "queue encrypted (AES-256-GCM):" : "queue in plaintext:");
            output.WriteLine($"enqueue {total:N0} heart-rate samples: {enqueueWatch.Elapsed.TotalSeconds:0.00} s ({total / enqueueWatch.Elapsed.TotalSeconds:N0} samples/s)");
            output.WriteLine($"drain {total:N0} samples: {watch.Elapsed.TotalSeconds:0.00} s = {total / watch.Elapsed.TotalSeconds:N0} samples/s");
            output.WriteLine($"client peak working set above baseline: {(peakWs - baselineWs) / 1048576.0:0.0} MiB; peak managed heap above baseline: {(peakHeap - baselineHeap) / 1048576.0:0.0} MiB (server in its own process)");
        }
        finally
        {
            await client.DisposeAsync();
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TestClient.Timeout);
        }

        await using var store = await SqliteHealthStore.OpenAsync(serverDb).WaitAsync(TestClient.Timeout);
        Assert.Equal(total, await store.CountSamplesAsync("user-1", CancellationToken.None).WaitAsync(TestClient.Timeout));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Immediate_EnqueueToAck_Latency(bool encrypted)
    {
        await using var server = await TestServer.StartAsync();
        var o = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token);
        var options = new HealthSyncOptions
        {
            ServerAddress = o.ServerAddress,
            DatabasePath = o.DatabasePath,
            AccessToken = o.AccessToken,
            AckTimeout = o.AckTimeout,
            RetryBaseDelay = o.RetryBaseDelay,
            RetryMaxDelay = o.RetryMaxDelay,
            IdleTimeout = o.IdleTimeout,
            QueueKeyProvider = encrypted ? new StaticQueueKeyProvider(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) : null,
        };
        var (client, _) = await TestClient.OpenAsync(options);
        await using (client)
        {
            const int warmup = 20, count = 300;
            var latencies = new List<double>(count);
            for (var i = 0; i < warmup + count; i++)
            {
                var watch = Stopwatch.StartNew();
                var result = await client.SendImmediateAsync([TestClient.Single(DataType.HeartRateVariabilitySdnn, 40 + (i % 20))]).WaitAsync(TestClient.Timeout);
                watch.Stop();
                Assert.True(result.Delivered);
                if (i >= warmup)
                {
                    latencies.Add(watch.Elapsed.TotalMilliseconds);
                }
            }

            latencies.Sort();
            double P(double q) => latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(q * latencies.Count) - 1)];
            output.WriteLine($"{(encrypted ? "encrypted" : "plaintext")} queue: tier-1 EnqueueAsync→ack on loopback, {count} sequential sends: p50 {P(0.50):0.00} ms, p90 {P(0.90):0.00} ms, p99 {P(0.99):0.00} ms, max {latencies[^1]:0.00} ms");
            Assert.Equal(warmup + count, await server.CountSamplesAsync());
        }
    }
}
