using System.Globalization;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// <see cref="IQuotaStore"/> on SQLite: overrides in their own table (schema version 13), written in short transactions
/// of their own like the accounts; usage read from what the ingest writer already keeps, so ingest pays nothing for it.
/// </summary>
internal sealed class SqliteUsage(string path, TimeSpan busyTimeout)
{
    /// <summary>Schema version 13: per-user quota overrides.</summary>
    public const string MigrationSql = """
        CREATE TABLE user_quotas (
            user_ref INTEGER PRIMARY KEY REFERENCES users (id),
            max_devices INTEGER,
            max_samples_per_day INTEGER,
            max_stored_bytes INTEGER
        );
        """;

    private readonly string _readConnectionString = SqliteSchema.ReaderConnectionString(path, busyTimeout);
    private readonly string _writeConnectionString = SqliteSchema.WriterConnectionString(path, busyTimeout);

    public Task<QuotaOverride?> GetQuotaOverrideAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ct.ThrowIfCancellationRequested();
        using var connection = Open(_readConnectionString);
        using var command = Command(connection, """
            SELECT u.id, q.max_devices, q.max_samples_per_day, q.max_stored_bytes
            FROM users u LEFT JOIN user_quotas q ON q.user_ref = u.id WHERE u.user_id = $u
            """, ("$u", userId));
        using var reader = command.ExecuteReader();
        return Task.FromResult(reader.Read() ? new QuotaOverride(Nullable(reader, 1), Nullable(reader, 2), Nullable(reader, 3)) : null);
    }

    public Task<bool> SetQuotaOverrideAsync(string userId, QuotaOverride quota, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(quota);
        ct.ThrowIfCancellationRequested();
        using var connection = Open(_writeConnectionString);
        using var command = Command(connection, """
            INSERT INTO user_quotas (user_ref, max_devices, max_samples_per_day, max_stored_bytes)
            SELECT id, $d, $s, $b FROM users WHERE user_id = $u
            ON CONFLICT (user_ref) DO UPDATE SET
                max_devices = excluded.max_devices, max_samples_per_day = excluded.max_samples_per_day,
                max_stored_bytes = excluded.max_stored_bytes
            """, ("$u", userId), ("$d", quota.MaxDevices), ("$s", quota.MaxSamplesPerDay), ("$b", quota.MaxStoredBytes));
        return Task.FromResult(command.ExecuteNonQuery() > 0);
    }

    public Task<QuotaUsage> GetUsageAsync(string userId, long sinceUnixMs, bool withStoredBytes, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ct.ThrowIfCancellationRequested();
        using var connection = Open(_readConnectionString);
        // One snapshot for all three numbers. Items since: the user's change sequence now minus where it stood at the
        // last batch committed before sinceUnixMs (found walking back the user's batches from the newest).
        using var transaction = connection.BeginTransaction(deferred: true);
        using var counts = Command(connection, """
            SELECT u.id,
                   (SELECT COUNT(*) FROM devices WHERE user_ref = u.id),
                   u.change_seq - COALESCE((SELECT change_seq FROM batches WHERE user_ref = u.id AND commit_ms < $since
                                            ORDER BY change_seq DESC LIMIT 1), 0)
            FROM users u WHERE u.user_id = $u
            """, ("$u", userId), ("$since", sinceUnixMs));
        counts.Transaction = transaction;
        using var reader = counts.ExecuteReader();
        if (!reader.Read())
        {
            return Task.FromResult(new QuotaUsage(0, 0, 0));
        }

        var userRef = reader.GetInt64(0);
        var usage = new QuotaUsage(reader.GetInt64(1), reader.GetInt64(2), 0);
        if (!withStoredBytes)
        {
            return Task.FromResult(usage);
        }

        const long RowBytes = QuotaUsage.RowBytes;
        using var bytes = Command(connection, $"""
            SELECT (SELECT COUNT(*) FROM samples WHERE user_ref = $r) * {RowBytes}
                 + (SELECT COALESCE(SUM(length(payload) + {RowBytes}), 0) FROM series WHERE user_ref = $r)
                 + (SELECT COALESCE(SUM(length(payload) + {RowBytes}), 0) FROM waveforms WHERE user_ref = $r)
                 + (SELECT COALESCE(SUM(length(payload) + {RowBytes}), 0) FROM records WHERE user_ref = $r)
            """, ("$r", userRef));
        bytes.Transaction = transaction;
        return Task.FromResult(usage with { StoredBytes = Convert.ToInt64(bytes.ExecuteScalar(), CultureInfo.InvariantCulture) });
    }

    private static long? Nullable(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    private static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }
}
