namespace HealthGrpc.Storage.Postgres;

/// <summary>Retention (<see cref="PgRetention"/>: bounded transactions queued with the ingest groups of this instance).</summary>
public sealed partial class PostgresHealthStore : IRetentionStore
{
    public Task<PurgeResult> PurgeAsync(int type, long beforeUnixMs, int maxRows, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var item = new RetentionItem<PurgeResult>(maxRows, (connection, token) => PgRetention.PurgeAsync(connection, type, beforeUnixMs, maxRows, token), ct);
        return EnqueueAsync(item, item.Task, ct);
    }

    public Task<AckCompaction> CompactAcksAsync(long beforeUnixMs, long afterPosition, int maxRows, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var item = new RetentionItem<AckCompaction>(
            maxRows, (connection, token) => PgRetention.CompactAcksAsync(connection, beforeUnixMs, afterPosition, maxRows, token), ct);
        return EnqueueAsync(item, item.Task, ct);
    }

    /// <summary>The highest sequence retention purged from the user's feed (0 while nothing was).</summary>
    public Task<long> GetChangeFloorAsync(string userId, CancellationToken ct) =>
        ReadAsync(connection => PgRetention.ReadFloorAsync(connection, userId, ct), ct);
}
