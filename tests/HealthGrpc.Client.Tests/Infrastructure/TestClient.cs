using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Net.Client;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>Client factory with test-friendly timeouts, an event recorder, and sample generators.</summary>
internal static class TestClient
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public static HealthSyncOptions Options(
        Uri address, string dbPath, string? token, string? deviceId = null, int maxSamplesPerBatch = 1000, Action<GrpcChannelOptions>? configureChannel = null,
        TimeSpan? ackTimeout = null, System.Net.IWebProxy? proxy = null) => new()
    {
        ServerAddress = address,
        DatabasePath = dbPath,
        AccessToken = token,
        DeviceId = deviceId,
        MaxSamplesPerBatch = maxSamplesPerBatch,
        // Long enough that a stalled box (fsync, GC, JIT of a cold server) never trips the watchdog: a dropped session
        // would resend a batch and change the event counts tests assert. Tests of the watchdog itself pass a short one.
        AckTimeout = ackTimeout ?? TimeSpan.FromSeconds(30),
        RetryBaseDelay = TimeSpan.FromMilliseconds(100),
        RetryMaxDelay = TimeSpan.FromSeconds(1),
        IdleTimeout = TimeSpan.FromSeconds(2),
        CredentialsRetryInterval = TimeSpan.FromSeconds(30),
        ConfigureChannel = configureChannel,
        Proxy = proxy,
    };

    public static async Task<(HealthSyncClient Client, EventLog Events)> OpenAsync(HealthSyncOptions options)
    {
        var client = await HealthSyncClient.OpenAsync(options).WaitAsync(Timeout);
        var log = new EventLog();
        client.Events += (_, e) => log.Add(e);
        return (client, log);
    }

    /// <summary>n heart-rate samples, 1 s apart, ending an hour ago, each with its own random uuid.</summary>
    public static SampleSet HeartRate(int n, DateTimeOffset? end = null)
    {
        var start = (end ?? DateTimeOffset.UtcNow.AddHours(-1)).AddSeconds(-n);
        var set = new SampleSet
        {
            Type = DataType.HeartRate,
            Source = new Source { Kind = DeviceKind.Wearable, Name = "strap", Manufacturer = "Polar", Model = "H10" },
            BaseTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(start),
            ZoneOffsetMinutes = 60,
        };
        for (var i = 0; i < n; i++)
        {
            set.Samples.Add(new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), StartOffsetMs = i * 1000L, ScaledValue = 60 + (i % 40) });
        }

        return set;
    }

    public static SampleSet Single(DataType type, long scaled, DateTimeOffset? at = null) => new()
    {
        Type = type,
        Source = new Source { Kind = DeviceKind.Watch, Name = "watch" },
        BaseTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(at ?? DateTimeOffset.UtcNow.AddMinutes(-1)),
        Samples = { new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), ScaledValue = scaled } },
    };
}

internal sealed class EventLog
{
    private readonly ConcurrentQueue<SyncEvent> _events = new();

    public void Add(SyncEvent e) => _events.Enqueue(e);

    public IReadOnlyList<SyncEvent> All => [.. _events];

    public IEnumerable<SyncEvent> Of(SyncEventKind kind) => _events.Where(e => e.Kind == kind);

    public long CommittedAccepted => Of(SyncEventKind.Acked).Where(e => e.Ack!.Outcome == AckOutcome.Committed).Sum(e => (long)e.Ack!.Accepted);

    public long CommittedDuplicates => Of(SyncEventKind.Acked).Where(e => e.Ack!.Outcome == AckOutcome.Committed).Sum(e => (long)e.Ack!.Duplicates);

    /// <summary>Accepted items over every ack (a DUPLICATE ack repeats the counts of the commit whose ack was lost).</summary>
    public long AllAccepted => Of(SyncEventKind.Acked).Sum(e => (long)e.Ack!.Accepted);

    /// <summary>Items the server found already stored, over every ack: non-zero means a sample was sent twice in two commits.</summary>
    public long AllDuplicateItems => Of(SyncEventKind.Acked).Sum(e => (long)e.Ack!.Duplicates);

    /// <summary>Acked batch ids, each must appear once.</summary>
    public IReadOnlyList<long> AckedBatchIds => [.. Of(SyncEventKind.Acked).Select(e => e.BatchId!.Value)];

    public int DuplicateAcks => Of(SyncEventKind.Acked).Count(e => e.Ack!.Outcome == AckOutcome.Duplicate);

    public async Task WaitForAsync(Func<SyncEvent, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_events.Any(predicate))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No matching event within {timeout}. Events: {string.Join(", ", _events.Select(e => e.Kind))}");
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>A pull source whose changes are fixed lists (for poison batches).</summary>
internal sealed class FixedSource(DataType type, IReadOnlyList<SampleSet> sets) : ISampleSource
{
    public string Name => "fixed";

    public IReadOnlyCollection<DataType> Types => [type];

    public ValueTask<SourceChanges> GetChangesAsync(DataType t, ByteString anchor, int maxSamples, CancellationToken cancellationToken) =>
        ValueTask.FromResult(anchor.IsEmpty
            ? new SourceChanges(sets, [], ByteString.CopyFromUtf8("end"), false)
            : new SourceChanges([], [], anchor, false));

    /// <summary>True: <see cref="ReadRangeAsync"/> answers the samples of the sets that start in the range (for reconciliation); false: nothing.</summary>
    public bool ServesRanges { get; init; }

    public ValueTask<IReadOnlyList<SampleSet>> ReadRangeAsync(DataType t, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        if (!ServesRanges)
        {
            return ValueTask.FromResult<IReadOnlyList<SampleSet>>([]);
        }

        var inRange = new List<SampleSet>();
        foreach (var set in sets.Where(s => s.Type == t))
        {
            var part = set.Clone();
            part.Samples.Clear();
            var baseTime = set.BaseTime.ToDateTimeOffset();
            part.Samples.Add(set.Samples.Where(s => baseTime.AddMilliseconds(s.StartOffsetMs) is var start && start >= from && start < to));
            if (part.Samples.Count > 0)
            {
                inRange.Add(part);
            }
        }

        return ValueTask.FromResult<IReadOnlyList<SampleSet>>(inRange);
    }
}
