using System.Data;
using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// A page of a user's samples, series and waveform chunks overlapping a time range (<see cref="SampleQuery"/>), the
/// same keyset paging as SQLite's reader: one stream per sample type through the (user_ref, type, start_ms, seq) key,
/// then series and waveform chunks, each at most limit + 1 rows after the cursor in <see cref="SampleReadPosition"/>
/// order (PostgreSQL's uuid order is the 16-byte big-endian order), merged and cut at the limit, all in one
/// repeatable-read snapshot. Rows with a change sequence above the page's snapshot sequence are left out.
/// </summary>
internal static class PgSampleReader
{
    private sealed record Row(SampleReadPosition Position, long DeviceRef, long UnitRef, long SourceRef, object Item);

    public static async Task<SampleReadPage> ReadAsync(NpgsqlConnection connection, PgLookups lookups, SampleQuery query, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
        long userRef, changeSequence;
        await using (var command = Command(connection, "SELECT id, change_seq FROM users WHERE user_id = @u", Value("u", query.UserId)))
        await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                return new SampleReadPage([], false, 0);
            }

            (userRef, changeSequence) = (reader.GetInt64(0), reader.GetInt64(1));
        }

        var snapshot = query.SnapshotSequence ?? changeSequence;
        var types = query.Types.Distinct().ToArray();
        var rows = new List<Row>();
        await using (var batch = new NpgsqlBatch(connection))
        {
            foreach (var type in types)
            {
                batch.BatchCommands.Add(Command(
                    $"""
                    SELECT uuid, start_ms, end_ms, zone, quantity, category, unit_ref, source_ref, device_ref, sync_id, sync_version,
                           metadata, vendor_type, type
                    FROM samples
                    WHERE user_ref = @u AND type = @type AND start_ms >= @lo{Conditions(query, SampleItemKind.Sample, "start_ms", "end_ms")}
                    ORDER BY start_ms, uuid LIMIT @n
                    """,
                    [.. Parameters(query, userRef, snapshot, types), Value("type", type), Value("lo", LowestStart(query))]));
            }

            batch.BatchCommands.Add(Command(
                $"""
                SELECT uuid, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms, zone, point_count, payload
                FROM series
                WHERE user_ref = @u AND type = ANY(@types){Conditions(query, SampleItemKind.Series, "start_ms", "end_ms")}
                ORDER BY start_ms, uuid LIMIT @n
                """,
                Parameters(query, userRef, snapshot, types)));
            // start_ms is the recording's start (shared by its chunks); a chunk covers
            // [start + first_sample_index / frequency, start + (first_sample_index + points) / frequency).
            batch.BatchCommands.Add(Command(
                $"""
                SELECT uuid, chunk_index, chunk_count, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, zone,
                       frequency_hz, lead, first_sample_index, point_count, payload
                FROM waveforms
                WHERE user_ref = @u AND type = ANY(@types){Conditions(query, SampleItemKind.Waveform, ChunkBegin, ChunkEnd)}
                ORDER BY start_ms, uuid, chunk_index LIMIT @n
                """,
                Parameters(query, userRef, snapshot, types)));

            await using var r = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
            for (var i = 0; i < types.Length; i++)
            {
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    var uuid = r.GetGuid(0);
                    var sample = new SampleRecord(
                        uuid, r.GetInt32(13), r.IsDBNull(12) ? null : r.GetString(12), r.GetInt64(1), r.GetInt64(2),
                        r.IsDBNull(3) ? null : r.GetInt32(3), r.IsDBNull(4) ? null : r.GetDouble(4), r.IsDBNull(5) ? null : r.GetInt32(5),
                        string.Empty, null!, r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? 0 : unchecked((ulong)r.GetInt64(10)),
                        Sqlite.MetadataCodec.Decode(r.IsDBNull(11) ? null : r.GetString(11)));
                    rows.Add(new Row(new SampleReadPosition(sample.StartUnixMs, SampleItemKind.Sample, uuid, 0), r.GetInt64(8), r.GetInt64(6), r.GetInt64(7), sample));
                }

                await r.NextResultAsync(ct).ConfigureAwait(false);
            }

            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var uuid = r.GetGuid(0);
                var series = new SeriesRecord(
                    uuid, r.GetInt32(1), r.IsDBNull(2) ? null : r.GetString(2), string.Empty, null!, r.GetInt64(6), r.GetInt64(7),
                    r.IsDBNull(8) ? null : r.GetInt32(8), r.GetInt32(9), (byte[])r.GetValue(10));
                rows.Add(new Row(new SampleReadPosition(series.StartUnixMs, SampleItemKind.Series, uuid, 0), r.GetInt64(5), r.GetInt64(3), r.GetInt64(4), series));
            }

            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var uuid = r.GetGuid(0);
                var waveform = new WaveformRecord(
                    uuid, unchecked((uint)r.GetInt64(1)), unchecked((uint)r.GetInt64(2)), r.GetInt32(3), r.IsDBNull(4) ? null : r.GetString(4),
                    string.Empty, null!, r.GetInt64(8), r.IsDBNull(9) ? null : r.GetInt32(9), r.GetDouble(10), r.GetInt32(11),
                    unchecked((ulong)r.GetInt64(12)), r.GetInt32(13), (byte[])r.GetValue(14));
                var position = new SampleReadPosition(waveform.StartUnixMs, SampleItemKind.Waveform, uuid, waveform.ChunkIndex);
                rows.Add(new Row(position, r.GetInt64(7), r.GetInt64(5), r.GetInt64(6), waveform));
            }
        }

        rows.Sort(static (a, b) => Compare(a.Position, b.Position));
        var hasMore = rows.Count > query.Limit;
        if (hasMore)
        {
            rows.RemoveRange(query.Limit, rows.Count - query.Limit);
        }

        await lookups.EnsureAsync(connection, rows.Select(r => r.SourceRef), rows.Select(r => r.UnitRef), ct).ConfigureAwait(false);
        var devices = rows.Count == 0 ? [] : await PgLookups.DevicesAsync(connection, userRef, ct).ConfigureAwait(false);
        var items = new List<SampleReadItem>(rows.Count);
        foreach (var row in rows)
        {
            var (deviceId, unit, source) = (devices.GetValueOrDefault(row.DeviceRef, string.Empty), lookups.Unit(row.UnitRef), lookups.Source(row.SourceRef));
            items.Add(row.Item switch
            {
                SampleRecord sample => new SampleReadItem(row.Position, deviceId, Sample: sample with { Unit = unit, Source = source }),
                SeriesRecord series => new SampleReadItem(row.Position, deviceId, Series: series with { Unit = unit, Source = source }),
                _ => new SampleReadItem(row.Position, deviceId, Waveform: (WaveformRecord)row.Item with { Unit = unit, Source = source }),
            });
        }

        return new SampleReadPage(items, hasMore, snapshot);
    }

    private const string ChunkBegin = "(start_ms + trunc(first_sample_index * 1000.0 / frequency_hz)::bigint)";
    private const string ChunkEnd = "(start_ms + trunc((first_sample_index + point_count) * 1000.0 / frequency_hz)::bigint)";

    private static NpgsqlParameter[] Parameters(SampleQuery query, long userRef, long snapshot, int[] types)
    {
        var parameters = new List<NpgsqlParameter>
        {
            Value("u", userRef),
            Value("from", query.FromUnixMs),
            Value("to", query.ToUnixMs),
            Value("snap", snapshot),
            Value("n", query.Limit + 1),
            Array("types", NpgsqlDbType.Integer, types),
            Array("kinds", NpgsqlDbType.Integer, query.SourceKinds.ToArray()),
        };
        if (query.After is { } after)
        {
            parameters.Add(Value("cs", after.StartUnixMs));
            parameters.Add(Value("cu", after.Uuid));
            parameters.Add(Value("cc", (long)after.ChunkIndex));
        }

        return [.. parameters];
    }

    /// <summary>Lowest start a discrete sample of the page can have (the key range's lower bound).</summary>
    private static long LowestStart(SampleQuery query) => Math.Max(
        query.FromUnixMs > long.MinValue + query.LookbackMs ? query.FromUnixMs - query.LookbackMs : long.MinValue,
        query.After?.StartUnixMs ?? long.MinValue);

    /// <summary>Range, snapshot, sources and cursor conditions for a stream of <paramref name="kind"/> items.</summary>
    private static string Conditions(SampleQuery query, SampleItemKind kind, string begin, string end)
    {
        var sources = query.SourceKinds.Count == 0 ? string.Empty : " AND source_ref IN (SELECT id FROM sources WHERE kind = ANY(@kinds))";
        return $" AND {begin} < @to AND ({end} > @from OR {begin} >= @from) AND seq <= @snap{sources}{After(query, kind)}";
    }

    private static string After(SampleQuery query, SampleItemKind kind)
    {
        if (query.After is not { } after)
        {
            return string.Empty;
        }

        // Items of a kind that sorts after the cursor's kind may share its start; of a kind before it, may not.
        if (kind != after.Kind)
        {
            return kind > after.Kind ? " AND start_ms >= @cs" : " AND start_ms > @cs";
        }

        return kind == SampleItemKind.Waveform
            ? " AND (start_ms, uuid, chunk_index) > (@cs, @cu, @cc)"
            : " AND (start_ms, uuid) > (@cs, @cu)";
    }

    /// <summary><see cref="SampleReadPosition"/> order, uuids as 16 big-endian bytes (PostgreSQL's uuid order).</summary>
    private static int Compare(SampleReadPosition a, SampleReadPosition b)
    {
        var order = a.StartUnixMs.CompareTo(b.StartUnixMs);
        if (order == 0)
        {
            order = a.Kind.CompareTo(b.Kind);
        }

        if (order == 0)
        {
            Span<byte> x = stackalloc byte[16], y = stackalloc byte[16];
            a.Uuid.TryWriteBytes(x, bigEndian: true, out _);
            b.Uuid.TryWriteBytes(y, bigEndian: true, out _);
            order = x.SequenceCompareTo(y);
        }

        return order != 0 ? order : a.ChunkIndex.CompareTo(b.ChunkIndex);
    }
}
