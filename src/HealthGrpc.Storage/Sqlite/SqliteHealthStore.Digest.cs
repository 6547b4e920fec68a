namespace HealthGrpc.Storage.Sqlite;

/// <summary>Daily sample digests for client reconciliation (<see cref="IDailyDigestStore"/>), on the pooled readers.</summary>
public sealed partial class SqliteHealthStore : IDailyDigestStore
{
    /// <inheritdoc />
    public Task<IReadOnlyList<DailyDigestRecord>> ReadDailyDigestsAsync(
        string userId, IReadOnlyList<int> types, long firstDayUnixMs, int days, string? deviceId, UuidHash hash, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        return _reads.RunAsync(connection => SqliteDigestReader.Read(connection, userId, types, firstDayUnixMs, days, deviceId, hash), ct);
    }
}
