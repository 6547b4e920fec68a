namespace HealthGrpc.Storage;

/// <summary>
/// Retention for a store that supports it (a capability of its own, beside <see cref="IHealthStore"/>): purges old raw
/// items of one type and compacts old stored acks, each call one bounded write transaction queued with the ingest
/// commits, so ingest waits at most for one such batch.
/// </summary>
public interface IRetentionStore
{
    /// <summary>
    /// Deletes at most about <paramref name="maxRows"/> stored samples, series and waveform chunks of
    /// <paramref name="type"/> (all users) that start before <paramref name="beforeUnixMs"/>. The rollups are kept; each
    /// user's change-feed floor (<see cref="IHealthStore.GetChangeFloorAsync"/>) moves to the highest sequence purged;
    /// from now on an upload of that type starting before <paramref name="beforeUnixMs"/> is not stored (counted as
    /// ignored: it was purged, or would be at once), so a re-sent old day never comes back twice into the rollups.
    /// </summary>
    Task<PurgeResult> PurgeAsync(int type, long beforeUnixMs, int maxRows, CancellationToken ct);

    /// <summary>
    /// Empties the stored acks of batches committed before <paramref name="beforeUnixMs"/>, examining at most
    /// <paramref name="maxRows"/> batches after <paramref name="afterPosition"/> (0 to start), keeping the ack of each
    /// device epoch's latest batch. The batch rows stay (they order the change feed and hold the high-water marks): a
    /// replay of a compacted batch_seq still answers Duplicate, with the current high-water mark but without the
    /// original counts and rejections.
    /// </summary>
    Task<AckCompaction> CompactAcksAsync(long beforeUnixMs, long afterPosition, int maxRows, CancellationToken ct);
}

/// <summary>What one purge call removed; <see cref="More"/> when it stopped at its row limit (call again).</summary>
public sealed record PurgeResult(int Purged, bool More);

/// <summary>What one compaction call did: acks emptied, the position to continue after, and whether it reached the age limit or the end.</summary>
public sealed record AckCompaction(int Compacted, long Position, bool Done);
