namespace HealthGrpc.Storage.Postgres;

/// <summary>Daily sample digests for client reconciliation (<see cref="PgDigestReader"/>), on a pooled connection.</summary>
public sealed partial class PostgresHealthStore : IDailyDigestStore
{
    /// <inheritdoc />
    public Task<IReadOnlyList<DailyDigestRecord>> ReadDailyDigestsAsync(
        string userId, IReadOnlyList<int> types, long firstDayUnixMs, int days, string? deviceId, UuidHash hash, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        return ReadAsync(connection => PgDigestReader.ReadAsync(connection, userId, types, firstDayUnixMs, days, deviceId, hash, ct), ct);
    }
}
