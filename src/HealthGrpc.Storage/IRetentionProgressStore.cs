namespace HealthGrpc.Storage;

/// <summary>
/// Progress of resumable retention work that the store keeps across restarts (optional beside
/// <see cref="IRetentionStore"/>): a restarted server continues where the last committed step ended instead of
/// examining every batch again from the first.
/// </summary>
public interface IRetentionProgressStore
{
    /// <summary>
    /// The position the ack compaction continues after: the <see cref="AckCompaction.Position"/> of the last committed
    /// <see cref="IRetentionStore.CompactAcksAsync"/> step, saved in that step's transaction (0 before the first).
    /// </summary>
    Task<long> GetAckCompactionPositionAsync(CancellationToken ct);
}
