using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>Status of a queued batch in the local store. Acked batches are deleted in the ack's transaction.</summary>
public enum QueuedBatchStatus
{
    /// <summary>Waiting to be sent; no batch_seq yet.</summary>
    Pending = 0,

    /// <summary>A batch_seq is assigned (durably) and the batch was or is being sent; it is resent after a reconnect until acked.</summary>
    InFlight = 1,

    /// <summary>
    /// Quarantined: an item the server rejected (with its reason), an item too large for the server's limits, or a batch
    /// refused by a non-transient status more than <see cref="HealthSyncOptions.MaxNonTransientAttempts"/> times. Kept locally
    /// (see <see cref="HealthSyncClient.GetQuarantineAsync"/>) under <see cref="HealthSyncOptions.QuarantineRetention"/>, not
    /// counted against the queue bounds, and sent again only after <see cref="HealthSyncClient.RetryQuarantinedAsync"/>.
    /// </summary>
    Quarantined = 2,
}

/// <summary>A queued batch as the local store holds it.</summary>
/// <param name="Id">Local id (enqueue order).</param>
/// <param name="Tier">Its tier.</param>
/// <param name="Status">Its status.</param>
/// <param name="BatchSeq">The assigned batch_seq (InFlight only).</param>
/// <param name="Attempts">Failed send attempts so far.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="NextAttemptAt">Earliest time of the next attempt.</param>
/// <param name="SampleCount">Items (samples, deletions) it carries.</param>
/// <param name="Bytes">Encoded size.</param>
/// <param name="Anchors">The anchors it commits when acked.</param>
/// <param name="LastError">Why the last attempt failed, or the server's rejection.</param>
public sealed record QueuedBatchInfo(
    long Id,
    SyncTier Tier,
    QueuedBatchStatus Status,
    ulong? BatchSeq,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset NextAttemptAt,
    int SampleCount,
    int Bytes,
    IReadOnlyList<SourceAnchor> Anchors,
    string? LastError);
