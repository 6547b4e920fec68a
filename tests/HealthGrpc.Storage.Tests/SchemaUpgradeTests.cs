using System.Globalization;
using HealthGrpc.Storage.Sqlite;
using HealthGrpc.Contracts;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Upgrading a file written by the schema before the time-clustered samples layout (migrations 1-3) in place: every
/// row of every table survives, the upgraded file keeps the dedup promise for the rows it had, and the rollups of its
/// quantity samples are built.
/// </summary>
public sealed class SchemaUpgradeTests : IDisposable
{
    private const int LayoutVersionBefore = 3;
    private const int AliceSamples = 300;
    private const int OldSeriesPoints = 2_000;
    private const long OldSeriesStart = 1_700_010_000_000; // a bucket boundary (1,888,900 x 900,000) among the samples' day
    private const int SeriesRollupsVersion = 17;

    private static readonly string[] Tables =
    [
        "users", "devices", "device_epochs", "batches", "sources", "units", "samples", "series", "waveforms", "tombstones",
        "replaced_samples", "records",
    ];

    private static readonly SqliteStoreOptions Options = new()
    {
        GroupCommit = new GroupCommitOptions { MaxDelay = TimeSpan.FromMilliseconds(1) },
    };

    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public async Task AFileOfTheOldLayout_IsUpgradedInPlace_KeepingEveryRow_AndTheDedupPromise()
    {
        var path = _directory.File("v3.db");
        OldFile old;
        using (var connection = Open(path))
        {
            Assert.Equal(LayoutVersionBefore, SqliteSchema.Migrate(connection, LayoutVersionBefore));
            old = WriteOldRows(connection);
        }

        await using (var store = await SqliteHealthStore.OpenAsync(path, Options).T30())
        {
            var changes = await ReadAllChangesAsync(store, "alice");
            Assert.Equal(Enumerable.Range(1, old.AliceChangeSeq).Select(i => (long)i), changes.Select(c => c.Sequence));
            Assert.Equal(AliceSamples, changes.Count(c => c.Kind == ChangeKind.Sample));
            Assert.Equal(20L, await store.CountSamplesAsync("bob", CancellationToken.None).T30());

            // The rollups migration built the buckets of the samples already stored.
            var rollups = await store.ReadRollupsAsync("alice", HeartRate, long.MinValue, long.MaxValue, CancellationToken.None).T30();
            Assert.True(rollups.Count > 50, $"{rollups.Count} buckets");
            ExpectedRollups.AssertEqual(ExpectedRollups.From(changes, HeartRate), rollups);

            // The migrated rows are still the dedup key, the tombstones still win, the sync ids still version.
            var result = (await store.CommitAsync(
                Batch("alice", "d", 2, [
                    Sample(old.SampleUuids[0]),
                    Sample(old.TombstonedUuid),
                    Sample(syncId: old.SyncId, syncVersion: 3),
                    Sample(),
                ]),
                CancellationToken.None).T30()).Committed();
            Assert.Equal((1, 1, 1, 1), (result.Duplicates, result.IgnoredDeleted, result.Replaced, result.Accepted));
            Assert.Equal(old.AliceChangeSeq + 3, result.ChangeSequence);
        }

        using (var connection = Open(path))
        {
            Assert.Equal(SqliteSchema.LatestVersion, SqliteSchema.CurrentVersion(connection));
            Assert.Contains(
                "PRIMARY KEY (user_ref, type, start_ms, seq)",
                (string)Scalar(connection, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'samples'")!,
                StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AFileOfTheVersionBeforeSeriesRollups_GetsItsStoredSeriesCountedInTheRollups()
    {
        var path = _directory.File("v16.db");
        using (var connection = Open(path))
        {
            SqliteSchema.Migrate(connection, LayoutVersionBefore);
            WriteOldRows(connection);
            SqliteSchema.Migrate(connection, SeriesRollupsVersion - 1);

            // The old rollups hold the samples only.
            var heartRateSamples = Convert.ToInt64(Scalar(connection, "SELECT COUNT(*) FROM samples WHERE user_ref = 1 AND type = 5 AND quantity IS NOT NULL"), CultureInfo.InvariantCulture);
            Assert.Equal(heartRateSamples, Convert.ToInt64(Scalar(connection, "SELECT SUM(count) FROM rollups WHERE user_ref = 1 AND type = 5"), CultureInfo.InvariantCulture));
        }

        await using var store = await SqliteHealthStore.OpenAsync(path, Options).T30();
        var changes = await ReadAllChangesAsync(store, "alice");
        var rollups = await store.ReadRollupsAsync("alice", HeartRate, long.MinValue, long.MaxValue, CancellationToken.None).T30();
        Assert.Contains(rollups, r => r.BucketStartUnixMs == OldSeriesStart && r.Count >= 900);
        ExpectedRollups.AssertEqual(ExpectedRollups.From(changes, HeartRate), rollups);
    }

    [Fact]
    public void TheUpgrade_CopiesEveryColumnOfEveryRow()
    {
        var path = _directory.File("v3-columns.db");
        using var connection = Open(path);
        SqliteSchema.Migrate(connection, LayoutVersionBefore);
        WriteOldRows(connection);
        var before = Snapshot(connection);
        var oldColumns = Tables.ToDictionary(table => table, table => Columns(connection, table));

        SqliteSchema.Migrate(connection);

        // Later migrations may add columns (e.g. accounts): every column the old file had must keep its value.
        var after = Snapshot(connection, oldColumns);
        foreach (var table in Tables)
        {
            Assert.True(before[table].Count > 0, $"the old file has rows in {table}");
            Assert.Equal(before[table], after[table]);
        }
    }

    private sealed record OldFile(IReadOnlyList<Guid> SampleUuids, Guid TombstonedUuid, string SyncId, int AliceChangeSeq);

    /// <summary>
    /// Rows as the previous schema stored them (plain SQL against migrations 1-3), in a deterministic random order.
    /// Quantities are multiples of 0.25, so rollup sums are exact in any summation order.
    /// </summary>
    private static OldFile WriteOldRows(SqliteConnection connection)
    {
        var random = new Random(4);
        Execute(connection, """
            INSERT INTO users (id, user_id, change_seq, created_ms) VALUES (1, 'alice', 0, 1), (2, 'bob', 20, 2);
            INSERT INTO units (id, unit) VALUES (1, 'count/min'), (2, 'count');
            INSERT INTO sources (id, kind, name, manufacturer, model, hardware_version, software_version, app_id)
            VALUES (1, 1, 'w', 'Apple', 'Watch7,1', '', '11.0', 'com.apple.health'), (2, 2, 'p', 'Apple', 'iPhone', '', '18.0', 'app');
            INSERT INTO devices (id, user_ref, device_id, newest_epoch, last_commit_ms) VALUES (1, 1, 'd', 1, 5), (2, 2, 'd', 1, 6);
            INSERT INTO device_epochs (device_ref, epoch, high_water_mark) VALUES (1, 1, 1), (2, 1, 1);
            """);

        var uuids = new List<Guid>();
        const string syncId = "sync-7";
        var seq = 0;
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO samples (user_ref, uuid, seq, type, vendor_type, start_ms, end_ms, zone, quantity, category,
                                     unit_ref, source_ref, device_ref, sync_id, sync_version, metadata)
                VALUES ($user, $uuid, $seq, $type, $vendor, $start, $end, $zone, $quantity, $category,
                        $unit, $source, $device, $syncId, $syncVersion, $metadata)
                """;
            for (var i = 0; i < AliceSamples + 20; i++)
            {
                var alice = i < AliceSamples;
                var uuid = alice ? Guid.NewGuid() : uuids[i - AliceSamples];
                var quantity = i % 7 != 0;
                var start = 1_700_000_000_000 + random.NextInt64(0, 86_400_000);
                Bind(insert, ("$user", alice ? 1L : 2L), ("$uuid", uuid.ToByteArray(bigEndian: true)),
                    ("$seq", alice ? ++seq : i - AliceSamples + 1), ("$type", quantity ? HeartRate : SleepStage),
                    ("$vendor", i % 11 == 0 ? "vendor.x" : null), ("$start", start), ("$end", start + random.Next(0, 60_000)),
                    ("$zone", i % 5 == 0 ? null : 60), ("$quantity", quantity ? 40 + random.Next(0, 400) * 0.25 : null),
                    ("$category", quantity ? null : random.Next(0, 5)), ("$unit", 1L), ("$source", 1L + (i % 2)),
                    ("$device", alice ? 1L : 2L), ("$syncId", i == 3 ? syncId : i % 13 == 0 ? "sync-" + i : null),
                    ("$syncVersion", i == 3 || i % 13 == 0 ? 2L : null), ("$metadata", i % 17 == 0 ? """{"k":"v"}""" : null));
                insert.ExecuteNonQuery();
                if (alice)
                {
                    uuids.Add(uuid);
                }
            }
        }

        var tombstoned = Guid.NewGuid();
        using (var tombstone = connection.CreateCommand())
        {
            tombstone.CommandText = "INSERT INTO tombstones (user_ref, uuid, seq, deleted_ms, device_ref) VALUES (1, $uuid, $seq, 9, 1)";
            foreach (var uuid in new[] { tombstoned, Guid.NewGuid(), Guid.NewGuid() })
            {
                Bind(tombstone, ("$uuid", uuid.ToByteArray(bigEndian: true)), ("$seq", ++seq));
                tombstone.ExecuteNonQuery();
            }
        }

        using (var rows = connection.CreateCommand())
        {
            rows.CommandText = """
                INSERT INTO replaced_samples (user_ref, seq, uuid, device_ref) VALUES (1, $s1, randomblob(16), 1);
                INSERT INTO series (user_ref, uuid, seq, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms, zone,
                                    point_count, payload)
                VALUES (1, randomblob(16), $s2, 5, NULL, 1, 1, 1, $seriesStart, $seriesEnd, 60, $seriesPoints, $seriesPayload);
                INSERT INTO waveforms (user_ref, uuid, chunk_index, chunk_count, seq, type, vendor_type, unit_ref, source_ref,
                                       device_ref, start_ms, zone, frequency_hz, lead, first_sample_index, point_count, payload)
                VALUES (1, x'0000000000000000000000000000000a', 0, 2, $s3, 50, NULL, 1, 1, 1, 10, 60, 512.0, 1, 0, 2, x'0102'),
                       (1, x'0000000000000000000000000000000a', 1, 2, $s4, 50, NULL, 1, 1, 1, 10, 60, 512.0, 1, 2, 2, x'0304');
                INSERT INTO records (user_ref, record_type, record_id, version, deleted, content_type, payload, modified_ms, device_ref, seq)
                VALUES (1, 'training', 'r1', 2, 0, 'application/json', x'7b7d', 11, 1, $s5);
                INSERT INTO batches (device_ref, epoch, batch_seq, user_ref, change_seq, commit_ms, rejected_atomic, ack)
                VALUES (1, 1, 1, 1, $s5, 5, 0, x'01'), (2, 1, 1, 2, 20, 6, 0, x'02');
                UPDATE users SET change_seq = $s5 WHERE id = 1;
                """;
            // A 1 Hz heart-rate series over a few of the samples' buckets, encoded like the server stores it.
            var series = Series(Enumerable.Range(0, OldSeriesPoints).Select(i => new SeriesPoint(OldSeriesStart + i * 1_000L, 50 + random.Next(0, 100))).ToArray());
            Bind(rows, ("$s1", seq + 1), ("$s2", seq + 2), ("$s3", seq + 3), ("$s4", seq + 4), ("$s5", seq + 5),
                ("$seriesStart", series.StartUnixMs), ("$seriesEnd", series.EndUnixMs), ("$seriesPoints", series.PointCount),
                ("$seriesPayload", series.Payload));
            rows.ExecuteNonQuery();
        }

        return new OldFile(uuids, tombstoned, syncId, seq + 5);
    }

    /// <summary>Every row of every table as "column=value" text (by column name, so a reordered table compares equal), sorted.</summary>
    private static HashSet<string> Columns(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM pragma_table_info($table)";
        command.Parameters.AddWithValue("$table", table);
        using var reader = command.ExecuteReader();
        var columns = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            columns.Add(reader.GetString(0));
        }

        return columns;
    }

    private static Dictionary<string, List<string>> Snapshot(
        SqliteConnection connection, Dictionary<string, HashSet<string>>? onlyColumns = null)
    {
        var snapshot = new Dictionary<string, List<string>>();
        foreach (var table in Tables)
        {
            var rows = new List<string>();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM {table}";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var columns = Enumerable.Range(0, reader.FieldCount)
                    .Where(i => onlyColumns is null || onlyColumns[table].Contains(reader.GetName(i)))
                    .Select(i => reader.GetName(i) + "=" + Text(reader.GetValue(i)))
                    .Order(StringComparer.Ordinal);
                rows.Add(string.Join(";", columns));
            }

            rows.Sort(StringComparer.Ordinal);
            snapshot[table] = rows;
        }

        return snapshot;
    }

    private static string Text(object value) => value switch
    {
        DBNull => "NULL",
        byte[] bytes => Convert.ToHexString(bytes),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };

    private static void Bind(SqliteCommand command, params (string Name, object? Value)[] values)
    {
        command.Parameters.Clear();
        foreach (var (name, value) in values)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }
}
