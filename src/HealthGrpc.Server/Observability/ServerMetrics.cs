using System.Diagnostics.Metrics;
using Google.Protobuf.Reflection;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Observability;

/// <summary>
/// The server's one <see cref="Meter"/> ("HealthGrpc.Server"): what an operator watches, named after the OpenTelemetry
/// conventions (dotted lowercase names, UCUM units, curly-brace annotations for counted things). Exported in Prometheus
/// text format on the management endpoint, where dots become underscores and the unit a suffix
/// (<c>healthgrpc.ingest.batches</c> → <c>healthgrpc_ingest_batches_total</c>). docs/operations.md lists them all.
/// </summary>
internal sealed class ServerMetrics
{
    public const string MeterName = "HealthGrpc.Server";

    // Latencies from a fraction of a millisecond (a cached read) to seconds (a commit behind a busy disk).
    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private static readonly InstrumentAdvice<int> CountAdvice = new()
    {
        HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536],
    };

    private readonly Counter<long> _batches;
    private readonly Counter<long> _items;
    private readonly Counter<long> _itemRejections;
    private readonly Counter<long> _refusals;
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<int> _groupItems;
    private readonly Histogram<int> _groupRows;
    private readonly Histogram<double> _groupDuration;
    private readonly UpDownCounter<long> _syncStreams;
    private readonly UpDownCounter<long> _subscribers;
    private readonly Histogram<double> _readDuration;

    public ServerMetrics(IMeterFactory meterFactory, IHealthStore store, IngestBudget budget)
    {
        var meter = meterFactory.Create(MeterName);
        _syncStreams = meter.CreateUpDownCounter<long>("healthgrpc.sync.streams", "{stream}", "Open Sync streams.");
        _batches = meter.CreateCounter<long>("healthgrpc.ingest.batches", "{batch}",
            "Batches answered, by outcome: committed, rejected (an atomic batch with an invalid item: its batch_seq consumed, nothing stored) or duplicate (a replayed batch_seq, answered with its original ack).");
        _items = meter.CreateCounter<long>("healthgrpc.ingest.items", "{item}",
            "Items (samples, series, waveform chunks, deletions, records) of committed batches, by outcome as the ack counts them: accepted, duplicate, replaced, ignored_deleted, rejected.");
        _itemRejections = meter.CreateCounter<long>("healthgrpc.ingest.item_rejections", "{item}",
            "Invalid items of committed batches, by reason (the Rejection.reason a client sees).");
        _refusals = meter.CreateCounter<long>("healthgrpc.ingest.refusals", "{call}",
            "Sync and Upload calls refused as a whole, by reason (the ErrorDetail.reason a client sees, e.g. ERROR_REASON_SEQUENCE_GAP, ERROR_REASON_QUOTA_EXCEEDED).");
        _commitDuration = meter.CreateHistogram("healthgrpc.ingest.commit.duration", "s",
            "From a validated batch handed to the store to its durable commit (queueing for the writer included).", advice: SecondsAdvice);
        _groupItems = meter.CreateHistogram("healthgrpc.store.group_commit.size", "{item}",
            "Work items (batches, health probes, account writes) in one group transaction of the writer.", advice: CountAdvice);
        _groupRows = meter.CreateHistogram("healthgrpc.store.group_commit.rows", "{row}",
            "Rows (items of the batches, plus one per work item) in one group transaction of the writer.", advice: CountAdvice);
        _groupDuration = meter.CreateHistogram("healthgrpc.store.group_commit.duration", "s",
            "One group transaction of the writer, from BEGIN to the durable COMMIT.", advice: SecondsAdvice);
        _subscribers = meter.CreateUpDownCounter<long>("healthgrpc.changefeed.subscribers", "{subscriber}", "Open Subscribe streams.");
        _readDuration = meter.CreateHistogram("healthgrpc.read.duration", "s",
            "Read calls (ReadSamples, GetAggregates, Changes), by rpc.method and rpc.grpc.status_code.", advice: SecondsAdvice);

        meter.CreateObservableCounter("healthgrpc.ingest.budget.waits", () => new[]
            {
                new Measurement<long>(budget.ReservationWaits, new KeyValuePair<string, object?>("healthgrpc.budget.queue", "unread")),
                new Measurement<long>(budget.ParsedWaits, new KeyValuePair<string, object?>("healthgrpc.budget.queue", "parsed")),
            },
            "{wait}",
            "Times a batch waited for its share of Ingest:MaxBytesInProgress: unread (the stream stopped reading, pushing back on the client) or parsed (a batch held in memory while it waited).");
        meter.CreateObservableUpDownCounter("healthgrpc.ingest.budget.in_use", () => budget.InUse, "By",
            "Request bytes being validated and committed now (bounded by Ingest:MaxBytesInProgress).");
        if (store is IWriterObservations writer)
        {
            meter.CreateObservableUpDownCounter("healthgrpc.store.writer.queue.depth", () => writer.QueuedWrites, "{item}",
                "Work items waiting for the store's single writer.");
            writer.GroupCommitted += OnGroupCommitted;
        }
    }

    /// <summary>What the pipeline did with a batch: committed (its items by outcome and rejection reason) or a replayed duplicate batch_seq.</summary>
    public void Counted(BatchOutcome outcome)
    {
        if (outcome is not BatchOutcome.Committed committed)
        {
            _batches.Add(1, Outcome("duplicate"));
            return;
        }

        var result = committed.Result;
        _batches.Add(1, Outcome(result.RejectedAtomic ? "rejected" : "committed"));
        AddItems(result.Accepted, "accepted");
        AddItems(result.Duplicates, "duplicate");
        AddItems(result.Replaced, "replaced");
        AddItems(result.IgnoredDeleted, "ignored_deleted");
        AddItems(result.Rejected, "rejected");
        foreach (var rejection in committed.Rejections)
        {
            _itemRejections.Add(1, new KeyValuePair<string, object?>("healthgrpc.reason", ProtoName(rejection.Problem.Reason)));
        }
    }

    /// <summary>A Sync or Upload call refused as a whole.</summary>
    public void Refused(ErrorReason reason) =>
        _refusals.Add(1, new KeyValuePair<string, object?>("healthgrpc.reason", ProtoName(reason)));

    public void Committed(TimeSpan duration) => _commitDuration.Record(duration.TotalSeconds);

    public void SyncStreamOpened() => _syncStreams.Add(1);

    public void SyncStreamClosed() => _syncStreams.Add(-1);

    public void SubscriberOpened() => _subscribers.Add(1);

    public void SubscriberClosed() => _subscribers.Add(-1);

    public void Read(string method, Grpc.Core.StatusCode status, TimeSpan duration) =>
        _readDuration.Record(duration.TotalSeconds,
            new KeyValuePair<string, object?>("rpc.method", method),
            new KeyValuePair<string, object?>("rpc.grpc.status_code", (int)status));

    /// <summary>The proto name of a reason (ERROR_REASON_SEQUENCE_GAP), as clients and the docs spell it.</summary>
    private static string ProtoName<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        typeof(TEnum).GetField(value.ToString())?.GetCustomAttributes(typeof(OriginalNameAttribute), false) is [OriginalNameAttribute original, ..]
            ? original.Name
            : value.ToString();

    private static KeyValuePair<string, object?> Outcome(string outcome) => new("healthgrpc.outcome", outcome);

    private void AddItems(int count, string outcome)
    {
        if (count > 0)
        {
            _items.Add(count, Outcome(outcome));
        }
    }

    private void OnGroupCommitted(GroupCommitObservation group)
    {
        _groupItems.Record(group.Items);
        _groupRows.Record(group.Rows);
        _groupDuration.Record(group.Duration.TotalSeconds);
    }
}
