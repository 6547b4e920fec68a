using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// Reads a page of a user's change feed: every table carrying a per-user <c>seq</c> is read in seq order through its
/// (user_ref, seq) index with the page limit, the streams are merged, and commit times come from the batch rows (a
/// change's batch is the first batch of the user whose change_seq is at least the change's sequence; insights, written
/// outside batches, carry their own time).
/// </summary>
internal static class SqliteChangeReader
{
    private const string BySequence = "WHERE user_ref = $u AND seq > $a ORDER BY seq LIMIT $n";

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
        var lookup = new SqliteLookups(connection, sourceCache, unitCache);

        ReadTable(connection, $"SELECT {StoredItemRows.SampleColumns}, seq FROM samples {BySequence}", userRef, afterSequence, take, r =>
        {
            var sample = StoredItemRows.Sample(r, lookup, out var deviceRef);
            rows.Add((r.GetInt64(StoredItemRows.SampleColumnCount), ChangeKind.Sample, sample.Uuid, deviceRef, sample));
        });

        ReadTable(connection, $"SELECT {StoredItemRows.SeriesColumns}, seq FROM series {BySequence}", userRef, afterSequence, take, r =>
        {
            var series = StoredItemRows.Series(r, lookup, out var deviceRef);
            rows.Add((r.GetInt64(StoredItemRows.SeriesColumnCount), ChangeKind.Series, series.Uuid, deviceRef, series));
        });

        ReadTable(connection, $"SELECT {StoredItemRows.WaveformColumns}, seq FROM waveforms {BySequence}", userRef, afterSequence, take, r =>
        {
            var waveform = StoredItemRows.Waveform(r, lookup, out var deviceRef);
            rows.Add((r.GetInt64(StoredItemRows.WaveformColumnCount), ChangeKind.Waveform, waveform.Uuid, deviceRef, waveform));
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

        ReadTable(connection, $"SELECT {InsightRows.Columns} FROM insights {BySequence}", userRef, afterSequence, take, r =>
        {
            var insight = InsightRows.Read(r);
            rows.Add((insight.Sequence, ChangeKind.Insight, null, 0, insight));
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

        var devices = StoredItemRows.Devices(connection, userRef);
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
                    // Insights are written outside batches: their own row holds when the change committed.
                    ChangeKind.Insight => new ChangeRecord(
                        row.Seq, InsightRows.ChangeTime((InsightRecord)row.Item!), row.Kind, null, string.Empty, Insight: (InsightRecord)row.Item!),
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
}
