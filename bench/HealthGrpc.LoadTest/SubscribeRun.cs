using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;
using Spectre.Console;

namespace HealthGrpc.LoadTest;

/// <summary>
/// The `subscribe` scenario: N live subscribers of one user while one device uploads paced batches; reports the
/// commit→delivery latency of every delivered change (receive time minus the change's commit_time, one clock: same
/// box) and checks that every subscriber got every change exactly once, in order.
/// </summary>
internal static class SubscribeRun
{
    private const string UserId = "subscribe-user";
    private const int StreamsPerChannel = 90; // Kestrel allows 100 concurrent streams per HTTP/2 connection

    public static async Task<int> RunAsync(int subscribers, int batchesPerSecond, int samplesPerBatch, int seconds, bool inProc, string? serverDll, CancellationToken ct)
    {
        var path = ServerUnderTest.FreshDatabasePath("subscribe.db");
        var token = await ServerUnderTest.CreateUserAsync(path, UserId);
        await using var server = await ServerUnderTest.StartAsync(path, inProc, serverDll);
        var channels = Enumerable.Range(0, (subscribers + StreamsPerChannel - 1) / StreamsPerChannel)
            .Select(_ => GrpcChannel.ForAddress(server.Address)).ToList();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var latencies = new List<double>[subscribers];
        var caughtUp = new CountdownEvent(subscribers);
        var readers = new Task<(long Last, long Count, bool InOrder)>[subscribers];
        for (var i = 0; i < subscribers; i++)
        {
            var feed = new ChangeFeedService.ChangeFeedServiceClient(channels[i / StreamsPerChannel]);
            latencies[i] = [];
            readers[i] = ReadAsync(feed, token, latencies[i], caughtUp, stop.Token);
        }

        if (!caughtUp.Wait(TimeSpan.FromSeconds(120), ct))
        {
            throw new TimeoutException("the subscribers did not all catch up within 120 s");
        }

        var sync = new SyncService.SyncServiceClient(channels[0]);
        var device = new DeviceIdentity { DeviceId = "subscribe-device", Epoch = 1 };
        var interval = TimeSpan.FromSeconds(1.0 / batchesPerSecond);
        var total = seconds * batchesPerSecond;
        var clock = Stopwatch.StartNew();
        var startMs = DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeMilliseconds();
        ulong lastSequence = 0;
        for (var b = 0; b < total; b++)
        {
            var set = new SampleSet
            {
                Type = DataType.HeartRate,
                Unit = "count/min",
                BaseTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(startMs + b * samplesPerBatch * 1000L)),
                Source = new Source { Kind = DeviceKind.Watch, Name = "Load Watch", Manufacturer = "Acme" },
            };
            for (var s = 0; s < samplesPerBatch; s++)
            {
                set.Samples.Add(new Sample { Uuid = Contracts.SampleUuid.ToByteString(Guid.NewGuid()), StartOffsetMs = s * 1000L, ScaledValue = 60 + s % 40 });
            }

            var ack = await sync.UploadAsync(new UploadRequest { Device = device, Batch = new Batch { BatchSeq = (ulong)b + 1, SampleSets = { set } } }, SyncApi.As(token));
            lastSequence = ulong.Parse(ack.Ack.ChangeToken.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture);
            var due = interval * (b + 1) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, ct);
            }
        }

        // Every subscriber must reach the last sequence; then stop them.
        var deadline = Stopwatch.StartNew();
        while (latencies.Any(list => Volatile.Read(ref list) is { } l && Count(l) < (long)lastSequence) && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100, ct);
        }

        await stop.CancelAsync();
        var results = await Task.WhenAll(readers);
        foreach (var channel in channels)
        {
            channel.Dispose();
        }

        var all = latencies.SelectMany(list => list).Order().ToArray();
        var complete = results.Count(r => r.Count == (long)lastSequence && r.InOrder);
        AnsiConsole.MarkupLine($"subscribe: {subscribers} subscribers, {total} batches x {samplesPerBatch} samples at {batchesPerSecond}/s, {lastSequence} changes");
        AnsiConsole.MarkupLine($"  deliveries {all.Length:N0}; subscribers with every change once, in order: {complete}/{subscribers}");
        AnsiConsole.MarkupLine($"  commit->delivery ms: p50 {Percentile(all, 0.50):F1}  p99 {Percentile(all, 0.99):F1}  max {(all.Length > 0 ? all[^1] : 0):F1}");
        AnsiConsole.MarkupLine($"  server CPU {server.CpuTime().TotalSeconds:F1} s, peak RSS {server.PeakRss() / 1048576.0:F0} MiB");
        return complete == subscribers ? 0 : 1;
    }

    private static long Count(List<double> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static async Task<(long Last, long Count, bool InOrder)> ReadAsync(
        ChangeFeedService.ChangeFeedServiceClient feed, string token, List<double> latencies, CountdownEvent caughtUp, CancellationToken ct)
    {
        long last = 0, count = 0;
        var inOrder = true;
        try
        {
            using var call = feed.Subscribe(new SubscribeRequest(), SyncApi.As(token).WithCancellationToken(ct));
            await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
            {
                if (message.CaughtUp is not null)
                {
                    caughtUp.Signal();
                }

                if (message.Change is { } change)
                {
                    var latency = (DateTimeOffset.UtcNow - change.CommitTime.ToDateTimeOffset()).TotalMilliseconds;
                    inOrder &= (long)change.Sequence > last;
                    last = (long)change.Sequence;
                    count++;
                    lock (latencies)
                    {
                        latencies.Add(Math.Max(0, latency));
                    }
                }
            }
        }
        catch (RpcException error) when (error.StatusCode == StatusCode.Cancelled || ct.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException)
        {
        }

        return (last, count, inOrder);
    }
}
