using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// Reads a page of a user's change feed: every table carrying a per-user <c>seq</c> is read in seq order through its
/// (user_ref, seq) index with the page limit, the streams are merged, and commit times come from the batch rows (a
/// change's batch is the first batch of the user whose change_seq is at least the change's sequence).
/// </summary>
internal static class SqliteChangeReader
{

    public static ChangePage Read(
        SqliteConnection connection,
        string userId,
        long afterSequence,
        int limit,
        ConcurrentDictionary<long, SourceRecord> sourceCache,
        ConcurrentDictionary<long, string> unitCache)
    {
        // One read snapshot for every query of the page (raw BEGIN: the commands below need no transaction object).
        using (var begin = Command(connection, "BEGIN DEFERRED"))
        {
            begin.ExecuteNonQuery();
        }

        try
        {
            return ReadInSnapshot(connection, userId, afterSequence, limit, sourceCache, unitCache);
        }
        finally
        {
            using var end = Command(connection, "ROLLBACK");
            end.ExecuteNonQuery();
        }
    }

    private static ChangePage ReadInSnapshot(
        SqliteConnection connection,
        string userId,
        long afterSequence,
        int limit,
        ConcurrentDictionary<long, SourceRecord> sourceCache,
        ConcurrentDictionary<long, string> unitCache)
    {
        long userRef;
        using (var command = Command(connection, "SELECT id FROM users WHERE user_id = $u", ("$u", userId)))
        {
            if (command.ExecuteScalar() is not long found)
            {
                return new ChangePage([], false);
            }

            userRef = found;
        }

        var take = limit + 1;
        var rows = new List<(long Seq, ChangeKind Kind, Guid? Uuid, long DeviceRef, object? Item)>();
        var lookup = new Lookups(connection, sourceCache, unitCache);

        ReadTable(connection, """
            SELECT seq, uuid, type, vendor_type, start_ms, end_ms, zone, quantity, category, unit_ref, source_ref,
                   device_ref, sync_id, sync_version, metadata
            FROM samples WHERE user_ref = $u AND seq > $a ORDER BY seq LIMIT $n
            """, userRef, afterSequence, take, r =>
        {
            var uuid = UuidBytes.Read((byte[])r.GetValue(1));
            var sample = new SampleRecord(
                uuid,
                r.GetInt32(2),
                r.IsDBNull(3) ? null : r.GetString(3),
                r.GetInt64(4),
                r.GetInt64(5),
                r.IsDBNull(6) ? null : r.GetInt32(6),
                r.IsDBNull(7) ? null : r.GetDouble(7),
                r.IsDBNull(8) ? null : r.GetInt32(8),
                lookup.Unit(r.GetInt64(9)),
                lookup.Source(r.GetInt64(10)),
                r.IsDBNull(12) ? null : r.GetString(12),
                r.IsDBNull(13) ? 0 : unchecked((ulong)r.GetInt64(13)),
                MetadataCodec.Decode(r.IsDBNull(14) ? null : r.GetString(14)));
            rows.Add((r.GetInt64(0), ChangeKind.Sample, uuid, r.GetInt64(11), sample));
        });

        ReadTable(connection, """
            SELECT seq, uuid, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms, zone, point_count, payload
            FROM series WHERE user_ref = $u AND seq > $a ORDER BY seq LIMIT $n
            """, userRef, afterSequence, take, r =>
        {
            var uuid = UuidBytes.Read((byte[])r.GetValue(1));
            var series = new SeriesRecord(
                uuid,
                r.GetInt32(2),
                r.IsDBNull(3) ? null : r.GetString(3),
                lookup.Unit(r.GetInt64(4)),
                lookup.Source(r.GetInt64(5)),
                r.GetInt64(7),
                r.GetInt64(8),
                r.IsDBNull(9) ? null : r.GetInt32(9),
                r.GetInt32(10),
                (byte[])r.GetValue(11));
            rows.Add((r.GetInt64(0), ChangeKind.Series, uuid, r.GetInt64(6), series));
        });

        ReadTable(connection, """
            SELECT seq, uuid, chunk_index, chunk_count, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, zone,
                   frequency_hz, lead, first_sample_index, point_count, payload
            FROM waveforms WHERE user_ref = $u AND seq > $a ORDER BY seq LIMIT $n
            """, userRef, afterSequence, take, r =>
        {
            var uuid = UuidBytes.Read((byte[])r.GetValue(1));
            var waveform = new WaveformRecord(
                uuid,
                unchecked((uint)r.GetInt64(2)),
                unchecked((uint)r.GetInt64(3)),
                r.GetInt32(4),
                r.IsDBNull(5) ? null : r.GetString(5),
                lookup.Unit(r.GetInt64(6)),
                lookup.Source(r.GetInt64(7)),
                r.GetInt64(9),
                r.IsDBNull(10) ? null : r.GetInt32(10),
                r.GetDouble(11),
                r.GetInt32(12),
                unchecked((ulong)r.GetInt64(13)),
                r.GetInt32(14),
                (byte[])r.GetValue(15));
            rows.Add((r.GetInt64(0), ChangeKind.Waveform, uuid, r.GetInt64(8), waveform));
        });

        ReadTable(connection, """
            SELECT seq, uuid, deleted_ms, device_ref FROM tombstones WHERE user_ref = $u AND seq > $a ORDER BY seq LIMIT $n
            """, userRef, afterSequence, take, r =>
        {
            var uuid = UuidBytes.Read((byte[])r.GetValue(1));
            rows.Add((r.GetInt64(0), ChangeKind.Deletion, uuid, r.GetInt64(3), new TombstoneRecord(uuid, r.GetInt64(2))));
        });

        ReadTable(connection, """
            SELECT seq, uuid, device_ref FROM replaced_samples WHERE user_ref = $u AND seq > $a ORDER BY seq LIMIT $n
            """, userRef, afterSequence, take, r =>
        {
            var uuid = UuidBytes.Read((byte[])r.GetValue(1));
            rows.Add((r.GetInt64(0), ChangeKind.SampleReplaced, uuid, r.GetInt64(2), null));
        });

        ReadTable(connection, """
            SELECT seq, record_type, record_id, version, deleted, content_type, payload, modified_ms, device_ref
            FROM records WHERE user_ref = $u AND seq > $a ORDER BY seq LIMIT $n
            """, userRef, afterSequence, take, r =>
        {
            var record = new DocumentRecord(
                r.GetString(1),
                r.GetString(2),
                unchecked((ulong)r.GetInt64(3)),
                r.GetInt64(4) != 0,
                r.GetString(5),
                (byte[])r.GetValue(6),
                r.GetInt64(7));
            rows.Add((r.GetInt64(0), ChangeKind.Record, null, r.GetInt64(8), record));
        });

        rows.Sort(static (a, b) => a.Seq.CompareTo(b.Seq));
        var hasMore = rows.Count > limit;
        if (hasMore)
        {
            rows.RemoveRange(limit, rows.Count - limit);
        }

        if (rows.Count == 0)
        {
            return new ChangePage([], false);
        }

        var devices = new Dictionary<long, string>();
        using (var command = Command(connection, "SELECT id, device_id FROM devices WHERE user_ref = $u", ("$u", userRef)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                devices[reader.GetInt64(0)] = reader.GetString(1);
            }
        }

        var changes = new List<ChangeRecord>(rows.Count);
        using (var command = Command(
            connection,
            "SELECT change_seq, commit_ms FROM batches WHERE user_ref = $u AND change_seq >= $s ORDER BY change_seq, id",
            ("$u", userRef), ("$s", rows[0].Seq)))
        using (var batches = command.ExecuteReader())
        {
            long batchSeq = long.MinValue, commitMs = 0;
            foreach (var row in rows)
            {
                while (batchSeq < row.Seq && batches.Read())
                {
                    batchSeq = batches.GetInt64(0);
                    commitMs = batches.GetInt64(1);
                }

                var commitTime = DateTimeOffset.FromUnixTimeMilliseconds(commitMs);
                var deviceId = devices.GetValueOrDefault(row.DeviceRef, string.Empty);
                changes.Add(row.Kind switch
                {
                    ChangeKind.Sample => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Sample: (SampleRecord)row.Item!),
                    ChangeKind.Series => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Series: (SeriesRecord)row.Item!),
                    ChangeKind.Waveform => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Waveform: (WaveformRecord)row.Item!),
                    ChangeKind.Deletion => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Deletion: (TombstoneRecord)row.Item!),
                    ChangeKind.SampleReplaced => new ChangeRecord(
                        row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Deletion: new TombstoneRecord(row.Uuid!.Value, commitMs)),
                    _ => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Record: (DocumentRecord)row.Item!),
                });
            }
        }

        return new ChangePage(changes, hasMore);
    }

    private static void ReadTable(SqliteConnection connection, string sql, long userRef, long after, int take, Action<SqliteDataReader> row)
    {
        using var command = Command(connection, sql, ("$u", userRef), ("$a", after), ("$n", take));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            row(reader);
        }
    }

    internal static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    /// <summary>Source and unit ids to values (immutable once committed, so cached for the store's lifetime).</summary>
    internal sealed class Lookups(
        SqliteConnection connection,
        ConcurrentDictionary<long, SourceRecord> sources,
        ConcurrentDictionary<long, string> units)
    {
        public SourceRecord Source(long id)
        {
            if (sources.TryGetValue(id, out var source))
            {
                return source;
            }

            using var command = Command(
                connection,
                "SELECT kind, name, manufacturer, model, hardware_version, software_version, app_id FROM sources WHERE id = $id",
                ("$id", id));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                throw new InvalidOperationException($"Source {id} is missing.");
            }

            source = new SourceRecord(
                reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6));
            return sources.GetOrAdd(id, source);
        }

        public string Unit(long id)
        {
            if (units.TryGetValue(id, out var unit))
            {
                return unit;
            }

            using var command = Command(connection, "SELECT unit FROM units WHERE id = $id", ("$id", id));
            unit = command.ExecuteScalar() as string ?? throw new InvalidOperationException($"Unit {id} is missing.");
            return units.GetOrAdd(id, unit);
        }
    }
}
