namespace HealthGrpc.Storage.Postgres;

/// <summary>Where retention continues after a restart (<c>retention_progress</c>, saved by each ack compaction step's own statement).</summary>
public sealed partial class PostgresHealthStore : IRetentionProgressStore
{
    public Task<long> GetAckCompactionPositionAsync(CancellationToken ct) =>
        ReadAsync(connection => PgRetention.ReadAckPositionAsync(connection, ct), ct);
}
