using System.Diagnostics;
using System.Runtime.CompilerServices;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Baselines;

/// <summary>
/// The physical limit the store is measured against: the same sample rows inserted into the same schema (same file
/// pragmas: WAL, synchronous=FULL) with one prepared INSERT (the same SQLitePCL binding as the store's hot path) in
/// large transactions, without any of the store's logic
/// (no device/sequence checks, no dedup lookups, no savepoints, no group commit). Benchmarks report
/// store rows/s divided by this.
/// </summary>
public static class RawInsertBaseline
{
    /// <summary>
    /// Inserts <paramref name="samples"/> for <paramref name="userId"/> into the database at <paramref name="path"/>
    /// (created and migrated if needed), committing every <paramref name="rowsPerTransaction"/> rows. Returns the time
    /// spent inserting and committing (schema setup excluded).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TimeSpan InsertSamples(string path, string userId, IReadOnlyList<SampleRecord> samples, int rowsPerTransaction = 50_000)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerTransaction, 1);

        var options = new SqliteStoreOptions();
        using var connection = SqliteSchema.OpenWriter(path, options.BusyTimeout, options.WriterCacheKiB);
        SqliteSchema.Migrate(connection);

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var userRef = Scalar(connection, "INSERT INTO users (user_id, change_seq, created_ms) VALUES ($a, 0, $b) ON CONFLICT (user_id) DO UPDATE SET created_ms = created_ms RETURNING id", userId, now);
        var deviceRef = Scalar(connection, "INSERT INTO devices (user_ref, device_id, newest_epoch, last_commit_ms) VALUES ($a, 'raw-baseline', 1, $b) ON CONFLICT (user_ref, device_id) DO UPDATE SET last_commit_ms = excluded.last_commit_ms RETURNING id", userRef, now);
        var seq = Scalar(connection, "SELECT COALESCE(MAX(seq), 0) FROM samples WHERE user_ref = $a", userRef, null);
        var units = new Dictionary<string, long>(StringComparer.Ordinal);
        var sources = new Dictionary<SourceRecord, long>();
        foreach (var sample in samples)
        {
            if (!units.ContainsKey(sample.Unit))
            {
                units[sample.Unit] = Scalar(connection, "INSERT INTO units (unit) VALUES ($a) ON CONFLICT (unit) DO UPDATE SET unit = excluded.unit RETURNING id", sample.Unit, null);
            }

            if (!sources.ContainsKey(sample.Source))
            {
                var s = sample.Source;
                using var command = connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO sources (kind, name, manufacturer, model, hardware_version, software_version, app_id)
                    VALUES ($k, $n, $m, $mo, $hw, $sw, $app)
                    ON CONFLICT DO UPDATE SET kind = excluded.kind RETURNING id
                    """;
                command.Parameters.AddWithValue("$k", s.Kind);
                command.Parameters.AddWithValue("$n", s.Name);
                command.Parameters.AddWithValue("$m", s.Manufacturer);
                command.Parameters.AddWithValue("$mo", s.Model);
                command.Parameters.AddWithValue("$hw", s.HardwareVersion);
                command.Parameters.AddWithValue("$sw", s.SoftwareVersion);
                command.Parameters.AddWithValue("$app", s.AppId);
                sources[s] = (long)command.ExecuteScalar()!;
            }
        }

        using var begin = Text(connection, "BEGIN IMMEDIATE");
        using var commit = Text(connection, "COMMIT");
        using var insert = new RawStatement(connection, """
            INSERT INTO samples (user_ref, uuid, seq, type, vendor_type, start_ms, end_ms, zone, quantity, category,
                                 unit_ref, source_ref, device_ref, sync_id, sync_version, metadata)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
            """);
        var uuid = new byte[16];
        var stopwatch = Stopwatch.StartNew();
        var inTransaction = 0;
        begin.ExecuteNonQuery();
        foreach (var sample in samples)
        {
            UuidBytes.Write(sample.Uuid, uuid);
            insert.Int64(1, userRef);
            insert.Blob(2, uuid);
            insert.Int64(3, ++seq);
            insert.Int64(4, sample.Type);
            insert.Text(5, sample.VendorType);
            insert.Int64(6, sample.StartUnixMs);
            insert.Int64(7, sample.EndUnixMs);
            insert.Int64OrNull(8, sample.ZoneOffsetMinutes);
            insert.DoubleOrNull(9, sample.Quantity);
            insert.Int64OrNull(10, sample.Category);
            insert.Int64(11, units[sample.Unit]);
            insert.Int64(12, sources[sample.Source]);
            insert.Int64(13, deviceRef);
            insert.Text(14, sample.SyncIdentifier);
            insert.Int64OrNull(15, sample.SyncIdentifier is null ? null : unchecked((long)sample.SyncVersion));
            insert.Text(16, MetadataCodec.Encode(sample.Metadata));
            insert.Execute();
            if (++inTransaction == rowsPerTransaction)
            {
                commit.ExecuteNonQuery();
                begin.ExecuteNonQuery();
                inTransaction = 0;
            }
        }

        commit.ExecuteNonQuery();
        return stopwatch.Elapsed;
    }

    private static SqliteCommand Text(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private static long Scalar(SqliteConnection connection, string sql, object a, object? b)
    {
        using var command = Text(connection, sql);
        command.Parameters.AddWithValue("$a", a);
        if (b is not null)
        {
            command.Parameters.AddWithValue("$b", b);
        }

        return (long)command.ExecuteScalar()!;
    }
}
