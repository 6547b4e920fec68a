using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// Reads a page of a user's samples, series and waveform chunks overlapping a time range (<see cref="SampleQuery"/>).
/// Keyset paging: each stream (one per sample type through the <c>(user_ref, type, start_ms)</c> index, then series,
/// then waveform chunks) reads at most limit + 1 rows after the cursor position in <see cref="SampleReadPosition"/>
/// order, the streams are merged and cut at the limit. Rows with a change sequence above the page's snapshot sequence
/// are left out, so a page boundary never moves when ingest commits between two pages: nothing repeats, nothing that
/// was there at the first page is skipped (items deleted meanwhile are simply gone).
/// </summary>
internal static class SqliteSampleReader
{
    public static SampleReadPage Read(
        SqliteConnection connection,
        SampleQuery query,
        ConcurrentDictionary<long, SourceRecord> sourceCache,
        ConcurrentDictionary<long, string> unitCache)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        // One read snapshot for every statement of the page.
        using (var begin = Command(connection, "BEGIN DEFERRED"))
        {
            begin.ExecuteNonQuery();
        }

        try
        {
            return ReadInSnapshot(connection, query, new SqliteLookups(connection, sourceCache, unitCache));
        }
        finally
        {
            using var end = Command(connection, "ROLLBACK");
            end.ExecuteNonQuery();
        }
    }

    private sealed record Row(SampleReadPosition Position, byte[] UuidBytes, long DeviceRef, object Item);

    private static SampleReadPage ReadInSnapshot(SqliteConnection connection, SampleQuery query, SqliteLookups lookup)
    {
        long userRef, changeSequence;
        using (var command = Command(connection, "SELECT id, change_seq FROM users WHERE user_id = $u", ("$u", query.UserId)))
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read())
            {
                return new SampleReadPage([], false, 0);
            }

            (userRef, changeSequence) = (reader.GetInt64(0), reader.GetInt64(1));
        }

        var snapshot = query.SnapshotSequence ?? changeSequence;
        var filter = new Filter(query, userRef, snapshot);
        var rows = new List<Row>();
        foreach (var type in query.Types.Distinct())
        {
            ReadDiscrete(connection, filter, type, lookup, rows);
        }

        ReadSeries(connection, filter, lookup, rows);
        ReadWaveforms(connection, filter, lookup, rows);

        rows.Sort(static (a, b) => Compare(a, b));
        var hasMore = rows.Count > query.Limit;
        if (hasMore)
        {
            rows.RemoveRange(query.Limit, rows.Count - query.Limit);
        }

        var devices = ReadDevices(connection, userRef);
        var items = new List<SampleReadItem>(rows.Count);
        foreach (var row in rows)
        {
            var deviceId = devices.GetValueOrDefault(row.DeviceRef, string.Empty);
            items.Add(row.Item switch
            {
                SampleRecord sample => new SampleReadItem(row.Position, deviceId, Sample: sample),
                SeriesRecord series => new SampleReadItem(row.Position, deviceId, Series: series),
                _ => new SampleReadItem(row.Position, deviceId, Waveform: (WaveformRecord)row.Item),
            });
        }

        return new SampleReadPage(items, hasMore, snapshot);
    }

    /// <summary>The parameters and SQL fragments every stream shares: user, range, snapshot, sources, cursor.</summary>
    private sealed class Filter
    {
        private readonly SampleQuery _query;
        private readonly string _sources;

        public Filter(SampleQuery query, long userRef, long snapshot)
        {
            _query = query;
            Parameters.Add(("$u", userRef));
            Parameters.Add(("$from", query.FromUnixMs));
            Parameters.Add(("$to", query.ToUnixMs));
            Parameters.Add(("$snap", snapshot));
            Parameters.Add(("$n", query.Limit + 1));
            var kinds = new StringBuilder();
            for (var i = 0; i < query.SourceKinds.Count; i++)
            {
                kinds.Append(i == 0 ? string.Empty : ", ").Append(CultureInfo.InvariantCulture, $"$k{i}");
                Parameters.Add(($"$k{i}", query.SourceKinds[i]));
            }

            _sources = kinds.Length == 0 ? string.Empty : $" AND source_ref IN (SELECT id FROM sources WHERE kind IN ({kinds}))";
            var types = query.Types.Distinct().ToArray();
            TypeNames = types.Select(static (_, i) => $"$t{i}").ToArray();
            TypeValues = types;
            if (query.After is { } after)
            {
                Parameters.Add(("$cs", after.StartUnixMs));
                Parameters.Add(("$cu", after.Uuid.ToByteArray(bigEndian: true)));
                Parameters.Add(("$cc", (long)after.ChunkIndex));
            }
        }

        public List<(string Name, object Value)> Parameters { get; } = [];

        /// <summary>Parameter names and values of the requested types, for the streams that take them in one IN list.</summary>
        public IReadOnlyList<string> TypeNames { get; }

        public IReadOnlyList<int> TypeValues { get; }

        /// <summary>Lowest start a discrete sample of the page can have (the index range's lower bound).</summary>
        public long LowestStart => Math.Max(
            _query.FromUnixMs > long.MinValue + _query.LookbackMs ? _query.FromUnixMs - _query.LookbackMs : long.MinValue,
            _query.After?.StartUnixMs ?? long.MinValue);

        /// <summary>Range, snapshot, sources and cursor conditions for a stream of <paramref name="kind"/> items.</summary>
        public string Conditions(SampleItemKind kind, string beginExpression, string endExpression) =>
            $" AND {beginExpression} < $to AND ({endExpression} > $from OR {beginExpression} >= $from) AND seq <= $snap{_sources}{After(kind)}";

        private string After(SampleItemKind kind)
        {
            if (_query.After is not { } after)
            {
                return string.Empty;
            }

            // Items of a kind that sorts after the cursor's kind may share its start; of a kind before it, may not.
            if (kind != after.Kind)
            {
                return kind > after.Kind ? " AND start_ms >= $cs" : " AND start_ms > $cs";
            }

            return kind == SampleItemKind.Waveform
                ? " AND (start_ms, uuid, chunk_index) > ($cs, $cu, $cc)"
                : " AND (start_ms, uuid) > ($cs, $cu)";
        }
    }

    private static void ReadDiscrete(SqliteConnection connection, Filter filter, int type, SqliteLookups lookup, List<Row> rows)
    {
        var sql = $"""
            SELECT uuid, start_ms, end_ms, zone, quantity, category, unit_ref, source_ref, device_ref, sync_id, sync_version,
                   metadata, vendor_type
            FROM samples
            WHERE user_ref = $u AND type = $type AND start_ms >= $lo{filter.Conditions(SampleItemKind.Sample, "start_ms", "end_ms")}
            ORDER BY start_ms, uuid LIMIT $n
            """;
        using var command = Command(connection, sql, [.. filter.Parameters, ("$type", type), ("$lo", filter.LowestStart)]);
        using var r = command.ExecuteReader();
        while (r.Read())
        {
            var bytes = (byte[])r.GetValue(0);
            var uuid = UuidBytes.Read(bytes);
            var sample = new SampleRecord(
                uuid,
                type,
                r.IsDBNull(12) ? null : r.GetString(12),
                r.GetInt64(1),
                r.GetInt64(2),
                r.IsDBNull(3) ? null : r.GetInt32(3),
                r.IsDBNull(4) ? null : r.GetDouble(4),
                r.IsDBNull(5) ? null : r.GetInt32(5),
                lookup.Unit(r.GetInt64(6)),
                lookup.Source(r.GetInt64(7)),
                r.IsDBNull(9) ? null : r.GetString(9),
                r.IsDBNull(10) ? 0 : unchecked((ulong)r.GetInt64(10)),
                MetadataCodec.Decode(r.IsDBNull(11) ? null : r.GetString(11)));
            rows.Add(new Row(new SampleReadPosition(sample.StartUnixMs, SampleItemKind.Sample, uuid, 0), bytes, r.GetInt64(8), sample));
        }
    }

    // Series and waveforms have no time index (they are few and large): their streams scan the user's rows.
    private static void ReadSeries(SqliteConnection connection, Filter filter, SqliteLookups lookup, List<Row> rows)
    {
        var sql = $"""
            SELECT uuid, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms, zone, point_count, payload
            FROM series
            WHERE user_ref = $u AND type IN ({TypeList(filter)}){filter.Conditions(SampleItemKind.Series, "start_ms", "end_ms")}
            ORDER BY start_ms, uuid LIMIT $n
            """;
        using var command = Command(connection, sql, [.. filter.Parameters, .. TypeParameters(filter)]);
        using var r = command.ExecuteReader();
        while (r.Read())
        {
            var bytes = (byte[])r.GetValue(0);
            var uuid = UuidBytes.Read(bytes);
            var series = new SeriesRecord(
                uuid,
                r.GetInt32(1),
                r.IsDBNull(2) ? null : r.GetString(2),
                lookup.Unit(r.GetInt64(3)),
                lookup.Source(r.GetInt64(4)),
                r.GetInt64(6),
                r.GetInt64(7),
                r.IsDBNull(8) ? null : r.GetInt32(8),
                r.GetInt32(9),
                (byte[])r.GetValue(10));
            rows.Add(new Row(new SampleReadPosition(series.StartUnixMs, SampleItemKind.Series, uuid, 0), bytes, r.GetInt64(5), series));
        }
    }

    private static void ReadWaveforms(SqliteConnection connection, Filter filter, SqliteLookups lookup, List<Row> rows)
    {
        // start_ms is the recording's start (shared by its chunks, which so sort together); a chunk covers
        // [start + first_sample_index / frequency, start + (first_sample_index + points) / frequency).
        var sql = $"""
            SELECT uuid, chunk_index, chunk_count, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, zone,
                   frequency_hz, lead, first_sample_index, point_count, payload
            FROM waveforms
            WHERE user_ref = $u AND type IN ({TypeList(filter)})
                  {filter.Conditions(SampleItemKind.Waveform, ChunkBegin, ChunkEnd)}
            ORDER BY start_ms, uuid, chunk_index LIMIT $n
            """;
        using var command = Command(connection, sql, [.. filter.Parameters, .. TypeParameters(filter)]);
        using var r = command.ExecuteReader();
        while (r.Read())
        {
            var bytes = (byte[])r.GetValue(0);
            var uuid = UuidBytes.Read(bytes);
            var waveform = new WaveformRecord(
                uuid,
                unchecked((uint)r.GetInt64(1)),
                unchecked((uint)r.GetInt64(2)),
                r.GetInt32(3),
                r.IsDBNull(4) ? null : r.GetString(4),
                lookup.Unit(r.GetInt64(5)),
                lookup.Source(r.GetInt64(6)),
                r.GetInt64(8),
                r.IsDBNull(9) ? null : r.GetInt32(9),
                r.GetDouble(10),
                r.GetInt32(11),
                unchecked((ulong)r.GetInt64(12)),
                r.GetInt32(13),
                (byte[])r.GetValue(14));
            var position = new SampleReadPosition(waveform.StartUnixMs, SampleItemKind.Waveform, uuid, waveform.ChunkIndex);
            rows.Add(new Row(position, bytes, r.GetInt64(7), waveform));
        }
    }

    private const string ChunkBegin = "(start_ms + CAST(first_sample_index * 1000.0 / frequency_hz AS INTEGER))";
    private const string ChunkEnd = "(start_ms + CAST((first_sample_index + point_count) * 1000.0 / frequency_hz AS INTEGER))";

    private static string TypeList(Filter filter) =>
        string.Join(", ", filter.TypeNames);

    private static IEnumerable<(string Name, object Value)> TypeParameters(Filter filter) =>
        filter.TypeNames.Zip(filter.TypeValues, static (name, value) => (name, (object)value));

    private static Dictionary<long, string> ReadDevices(SqliteConnection connection, long userRef)
    {
        var devices = new Dictionary<long, string>();
        using var command = Command(connection, "SELECT id, device_id FROM devices WHERE user_ref = $u", ("$u", userRef));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            devices[reader.GetInt64(0)] = reader.GetString(1);
        }

        return devices;
    }

    /// <summary><see cref="SampleReadPosition"/> order, with uuids compared as SQLite compares the stored BLOBs.</summary>
    private static int Compare(Row a, Row b)
    {
        var order = a.Position.StartUnixMs.CompareTo(b.Position.StartUnixMs);
        if (order == 0)
        {
            order = a.Position.Kind.CompareTo(b.Position.Kind);
        }

        if (order == 0)
        {
            order = a.UuidBytes.AsSpan().SequenceCompareTo(b.UuidBytes);
        }

        return order != 0 ? order : a.Position.ChunkIndex.CompareTo(b.Position.ChunkIndex);
    }
}
