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

        var devices = StoredItemRows.Devices(connection, userRef);
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
            SELECT {StoredItemRows.SampleColumns}
            FROM samples
            WHERE user_ref = $u AND type = $type AND start_ms >= $lo{filter.Conditions(SampleItemKind.Sample, "start_ms", "end_ms")}
            ORDER BY start_ms, uuid LIMIT $n
            """;
        using var command = Command(connection, sql, [.. filter.Parameters, ("$type", type), ("$lo", filter.LowestStart)]);
        using var r = command.ExecuteReader();
        while (r.Read())
        {
            var sample = StoredItemRows.Sample(r, lookup, out var deviceRef);
            rows.Add(new Row(new SampleReadPosition(sample.StartUnixMs, SampleItemKind.Sample, sample.Uuid, 0), (byte[])r.GetValue(0), deviceRef, sample));
        }
    }

    // Series and waveforms have no time index (they are few and large): their streams scan the user's rows.
    private static void ReadSeries(SqliteConnection connection, Filter filter, SqliteLookups lookup, List<Row> rows)
    {
        var sql = $"""
            SELECT {StoredItemRows.SeriesColumns}
            FROM series
            WHERE user_ref = $u AND type IN ({TypeList(filter)}){filter.Conditions(SampleItemKind.Series, "start_ms", "end_ms")}
            ORDER BY start_ms, uuid LIMIT $n
            """;
        using var command = Command(connection, sql, [.. filter.Parameters, .. TypeParameters(filter)]);
        using var r = command.ExecuteReader();
        while (r.Read())
        {
            var series = StoredItemRows.Series(r, lookup, out var deviceRef);
            rows.Add(new Row(new SampleReadPosition(series.StartUnixMs, SampleItemKind.Series, series.Uuid, 0), (byte[])r.GetValue(0), deviceRef, series));
        }
    }

    private static void ReadWaveforms(SqliteConnection connection, Filter filter, SqliteLookups lookup, List<Row> rows)
    {
        // start_ms is the recording's start (shared by its chunks, which so sort together); a chunk covers
        // [start + first_sample_index / frequency, start + (first_sample_index + points) / frequency).
        var sql = $"""
            SELECT {StoredItemRows.WaveformColumns}
            FROM waveforms
            WHERE user_ref = $u AND type IN ({TypeList(filter)})
                  {filter.Conditions(SampleItemKind.Waveform, ChunkBegin, ChunkEnd)}
            ORDER BY start_ms, uuid, chunk_index LIMIT $n
            """;
        using var command = Command(connection, sql, [.. filter.Parameters, .. TypeParameters(filter)]);
        using var r = command.ExecuteReader();
        while (r.Read())
        {
            var waveform = StoredItemRows.Waveform(r, lookup, out var deviceRef);
            var position = new SampleReadPosition(waveform.StartUnixMs, SampleItemKind.Waveform, waveform.Uuid, waveform.ChunkIndex);
            rows.Add(new Row(position, (byte[])r.GetValue(0), deviceRef, waveform));
        }
    }

    private const string ChunkBegin = "(start_ms + CAST(first_sample_index * 1000.0 / frequency_hz AS INTEGER))";
    private const string ChunkEnd = "(start_ms + CAST((first_sample_index + point_count) * 1000.0 / frequency_hz AS INTEGER))";

    private static string TypeList(Filter filter) =>
        string.Join(", ", filter.TypeNames);

    private static IEnumerable<(string Name, object Value)> TypeParameters(Filter filter) =>
        filter.TypeNames.Zip(filter.TypeValues, static (name, value) => (name, (object)value));

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
