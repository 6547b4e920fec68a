using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// <see cref="IQuotaStore"/> on PostgreSQL: overrides in their own table (migration 3), written in one statement like
/// the accounts; usage read from what every instance's group commit already writes in its transaction (devices, batch
/// rows with their change sequence and commit time, the user's change counter), so it is the same on every instance,
/// counts exactly the committed batches, and ingest pays nothing for it.
/// </summary>
internal sealed class PgUsage(NpgsqlDataSource dataSource)
{
    /// <summary>Migration 3: per-user quota overrides.</summary>
    public const string MigrationSql = """
        CREATE TABLE user_quotas (
            user_ref bigint PRIMARY KEY REFERENCES users (id),
            max_devices bigint,
            max_samples_per_day bigint,
            max_stored_bytes bigint
        );
        """;

    public async Task<QuotaOverride?> GetQuotaOverrideAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, """
            SELECT q.max_devices, q.max_samples_per_day, q.max_stored_bytes
            FROM users u LEFT JOIN user_quotas q ON q.user_ref = u.id WHERE u.user_id = @u
            """, Value("u", userId));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? new QuotaOverride(Long(reader, 0), Long(reader, 1), Long(reader, 2)) : null;
    }

    public async Task<bool> SetQuotaOverrideAsync(string userId, QuotaOverride quota, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(quota);
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, """
            INSERT INTO user_quotas (user_ref, max_devices, max_samples_per_day, max_stored_bytes)
            SELECT id, @d, @s, @b FROM users WHERE user_id = @u
            ON CONFLICT (user_ref) DO UPDATE SET
                max_devices = excluded.max_devices, max_samples_per_day = excluded.max_samples_per_day,
                max_stored_bytes = excluded.max_stored_bytes
            """,
            Value("u", userId), Nullable("d", NpgsqlDbType.Bigint, quota.MaxDevices), Nullable("s", NpgsqlDbType.Bigint, quota.MaxSamplesPerDay),
            Nullable("b", NpgsqlDbType.Bigint, quota.MaxStoredBytes));
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }

    public async Task<QuotaUsage> GetUsageAsync(string userId, long sinceUnixMs, bool withStoredBytes, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        const long RowBytes = QuotaUsage.RowBytes;
        // One statement, so one snapshot for all three numbers. Items since: the user's change sequence now minus where it
        // stood at the last batch committed before sinceUnixMs (walking back the user's batches from the newest).
        var storedBytes = withStoredBytes
            ? $"""
              (SELECT COUNT(*) FROM samples WHERE user_ref = u.id) * {RowBytes}
                + (SELECT COALESCE(SUM(octet_length(payload) + {RowBytes}), 0) FROM series WHERE user_ref = u.id)
                + (SELECT COALESCE(SUM(octet_length(payload) + {RowBytes}), 0) FROM waveforms WHERE user_ref = u.id)
                + (SELECT COALESCE(SUM(octet_length(payload) + {RowBytes}), 0) FROM records WHERE user_ref = u.id)
              """
            : "0";
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, $"""
            SELECT (SELECT COUNT(*) FROM devices WHERE user_ref = u.id),
                   u.change_seq - COALESCE((SELECT change_seq FROM batches WHERE user_ref = u.id AND commit_ms < @since
                                            ORDER BY change_seq DESC LIMIT 1), 0),
                   ({storedBytes})::bigint
            FROM users u WHERE u.user_id = @u
            """, Value("u", userId), Value("since", sinceUnixMs));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false)
            ? new QuotaUsage(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2))
            : new QuotaUsage(0, 0, 0);
    }

    private static long? Long(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}
