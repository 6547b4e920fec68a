using HealthGrpc.Storage;

namespace HealthGrpc.Server.Ingest;

/// <summary>What the ingest pipeline did with a batch that was not refused (refusals are <see cref="SyncRejectedException"/>).</summary>
internal abstract record BatchOutcome
{
    private BatchOutcome()
    {
    }

    /// <summary>
    /// Committed durably (or consumed as atomic-rejected) into <see cref="OwnerUserId"/>'s store (its change token is bound
    /// to that feed): the result and the items the validator rejected.
    /// </summary>
    public sealed record Committed(string OwnerUserId, CommitResult Result, IReadOnlyList<ItemRejection> Rejections) : BatchOutcome;

    /// <summary>
    /// A replayed batch_seq: nothing applied. <see cref="StoredAck"/> is the ack stored with the original batch (empty
    /// when retention compacted it), <see cref="HighWaterMark"/> the device's current one.
    /// </summary>
    public sealed record Duplicate(ulong BatchSeq, byte[] StoredAck, ulong HighWaterMark) : BatchOutcome;
}

/// <summary>A device's state for the start of its Sync stream.</summary>
internal sealed record DeviceWelcome(ulong HighWaterMark, DateTimeOffset ServerTime);

/// <summary>
/// Encodes the ack the store keeps with a batch (and returns byte-identical to a replay). Supplied by the transport,
/// which owns the wire format: the pipeline only hands it the result.
/// </summary>
internal delegate byte[] StoredAckEncoder(string ownerUserId, CommitResult result, IReadOnlyList<ItemRejection> rejections);
