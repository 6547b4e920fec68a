using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>
/// A quarantined batch: data the SDK holds locally instead of delivering, with the reason. Either one item the server
/// rejected (<see cref="RejectReason"/> set), one item too large for the server's limits, or a whole batch refused by
/// a non-transient status more than <see cref="HealthSyncOptions.MaxNonTransientAttempts"/> times.
/// </summary>
/// <param name="Id">Local id (use with <see cref="HealthSyncClient.GetQueuedBatchContentAsync"/>).</param>
/// <param name="Tier">The tier of the batch it came from.</param>
/// <param name="ItemCount">Items it holds (samples, series, waveform chunks, deletions, records).</param>
/// <param name="Reason">Why it was quarantined (the server's message, or the status and its detail).</param>
/// <param name="RejectReason">The server's reason code for a rejected item; null for a batch quarantined as a whole or too large.</param>
/// <param name="EnqueuedAt">When its data was enqueued.</param>
/// <param name="QuarantinedAt">When it was quarantined (the retention clock).</param>
/// <param name="Content">The quarantined data (no batch_seq).</param>
public sealed record QuarantinedItem(
    long Id,
    SyncTier Tier,
    int ItemCount,
    string Reason,
    RejectReason? RejectReason,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset QuarantinedAt,
    Batch Content);
