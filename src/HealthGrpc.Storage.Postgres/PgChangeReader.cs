using System.Data;
using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// Reads a page of a user's change feed inside ONE repeatable-read snapshot: every table with a per-user seq is read in
/// seq order through its (user_ref, seq) index with the page limit (one round trip), the streams are merged, and commit
/// times come from the batch rows (insights, written outside batches, carry their own time). The snapshot is what makes the feed gap-free as readers see it: the writer assigns a
/// user's sequences under that user's row lock and holds it to COMMIT, so commits of one user become visible in
/// sequence order and a snapshot holds a prefix of them.
/// </summary>
internal static class PgChangeReader
{
    private sealed record Row(long Seq, ChangeKind Kind, Guid? Uuid, long DeviceRef, Func<PgLookups, object?> Build);

    public static async Task<ChangePage> ReadAsync(
        NpgsqlConnection connection, PgLookups lookups, string userId, long afterSequence, int limit, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
        long userRef;
        await using (var find = Command(connection, "SELECT id FROM users WHERE user_id = @u", Value("u", userId)))
        {
            if (await find.ExecuteScalarAsync(ct).ConfigureAwait(false) is not long found)
            {
                return new ChangePage([], false);
            }

            userRef = found;
        }

        var rows = new List<Row>();
        var sources = new List<long>();
        var units = new List<long>();
        await using (var batch = new NpgsqlBatch(connection))
        {
            foreach (var sql in Queries)
            {
                batch.BatchCommands.Add(Command(sql, Value("u", userRef), Value("a", afterSequence), Value("n", limit + 1)));
            }

            await using var r = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var uuid = r.GetGuid(1);
                var sample = new SampleRecord(
                    uuid, r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt64(4), r.GetInt64(5),
                    r.IsDBNull(6) ? null : r.GetInt32(6), r.IsDBNull(7) ? null : r.GetDouble(7), r.IsDBNull(8) ? null : r.GetInt32(8),
                    string.Empty, null!, r.IsDBNull(12) ? null : r.GetString(12), r.IsDBNull(13) ? 0 : unchecked((ulong)r.GetInt64(13)),
                    Sqlite.MetadataCodec.Decode(r.IsDBNull(14) ? null : r.GetString(14)));
                var (unit, source) = (r.GetInt64(9), r.GetInt64(10));
                units.Add(unit);
                sources.Add(source);
                rows.Add(new Row(r.GetInt64(0), ChangeKind.Sample, uuid, r.GetInt64(11), l => sample with { Unit = l.Unit(unit), Source = l.Source(source) }));
            }

            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var uuid = r.GetGuid(1);
                var series = new SeriesRecord(
                    uuid, r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3), string.Empty, null!, r.GetInt64(7), r.GetInt64(8),
                    r.IsDBNull(9) ? null : r.GetInt32(9), r.GetInt32(10), (byte[])r.GetValue(11));
                var (unit, source) = (r.GetInt64(4), r.GetInt64(5));
                units.Add(unit);
                sources.Add(source);
                rows.Add(new Row(r.GetInt64(0), ChangeKind.Series, uuid, r.GetInt64(6), l => series with { Unit = l.Unit(unit), Source = l.Source(source) }));
            }

            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var uuid = r.GetGuid(1);
                var waveform = new WaveformRecord(
                    uuid, unchecked((uint)r.GetInt64(2)), unchecked((uint)r.GetInt64(3)), r.GetInt32(4), r.IsDBNull(5) ? null : r.GetString(5),
                    string.Empty, null!, r.GetInt64(9), r.IsDBNull(10) ? null : r.GetInt32(10), r.GetDouble(11), r.GetInt32(12),
                    unchecked((ulong)r.GetInt64(13)), r.GetInt32(14), (byte[])r.GetValue(15));
                var (unit, source) = (r.GetInt64(6), r.GetInt64(7));
                units.Add(unit);
                sources.Add(source);
                rows.Add(new Row(r.GetInt64(0), ChangeKind.Waveform, uuid, r.GetInt64(8), l => waveform with { Unit = l.Unit(unit), Source = l.Source(source) }));
            }

            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var tombstone = new TombstoneRecord(r.GetGuid(1), r.GetInt64(2));
                rows.Add(new Row(r.GetInt64(0), ChangeKind.Deletion, tombstone.Uuid, r.GetInt64(3), _ => tombstone));
            }

            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                rows.Add(new Row(r.GetInt64(0), ChangeKind.SampleReplaced, r.GetGuid(1), r.GetInt64(2), _ => null));
            }

            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var record = new DocumentRecord(
                    r.GetString(1), r.GetString(2), unchecked((ulong)r.GetInt64(3)), r.GetBoolean(4), r.GetString(5), (byte[])r.GetValue(6), r.GetInt64(7));
                rows.Add(new Row(r.GetInt64(0), ChangeKind.Record, null, r.GetInt64(8), _ => record));
            }

            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var insight = InsightRows.Read(r);
                rows.Add(new Row(insight.Sequence, ChangeKind.Insight, null, 0, _ => insight));
            }
        }

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

        await lookups.EnsureAsync(connection, sources, units, ct).ConfigureAwait(false);
        var devices = await PgLookups.DevicesAsync(connection, userRef, ct).ConfigureAwait(false);
        var changes = new List<ChangeRecord>(rows.Count);
        await using (var command = Command(
            connection,
            "SELECT change_seq, commit_ms FROM batches WHERE user_ref = @u AND change_seq >= @s ORDER BY change_seq, id",
            Value("u", userRef), Value("s", rows[0].Seq)))
        await using (var batches = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            long batchSeq = long.MinValue, commitMs = 0;
            foreach (var row in rows)
            {
                // A change belongs to the first batch of the user whose counter reached its sequence.
                while (batchSeq < row.Seq && await batches.ReadAsync(ct).ConfigureAwait(false))
                {
                    batchSeq = batches.GetInt64(0);
                    commitMs = batches.GetInt64(1);
                }

                var commitTime = DateTimeOffset.FromUnixTimeMilliseconds(commitMs);
                var deviceId = devices.GetValueOrDefault(row.DeviceRef, string.Empty);
                var item = row.Build(lookups);
                changes.Add(row.Kind switch
                {
                    ChangeKind.Sample => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Sample: (SampleRecord)item!),
                    ChangeKind.Series => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Series: (SeriesRecord)item!),
                    ChangeKind.Waveform => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Waveform: (WaveformRecord)item!),
                    ChangeKind.Deletion => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Deletion: (TombstoneRecord)item!),
                    ChangeKind.SampleReplaced => new ChangeRecord(
                        row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Deletion: new TombstoneRecord(row.Uuid!.Value, commitMs)),
                    // Insights are written outside batches: their own row holds when the change committed.
                    ChangeKind.Insight => new ChangeRecord(
                        row.Seq, InsightRows.ChangeTime((InsightRecord)item!), row.Kind, null, string.Empty, Insight: (InsightRecord)item!),
                    _ => new ChangeRecord(row.Seq, commitTime, row.Kind, row.Uuid, deviceId, Record: (DocumentRecord)item!),
                });
            }
        }

        return new ChangePage(changes, hasMore);
    }

    private static readonly string[] Queries =
    [
        """
        SELECT seq, uuid, type, vendor_type, start_ms, end_ms, zone, quantity, category, unit_ref, source_ref,
               device_ref, sync_id, sync_version, metadata
        FROM samples WHERE user_ref = @u AND seq > @a ORDER BY seq LIMIT @n
        """,
        """
        SELECT seq, uuid, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms, zone, point_count, payload
        FROM series WHERE user_ref = @u AND seq > @a ORDER BY seq LIMIT @n
        """,
        """
        SELECT seq, uuid, chunk_index, chunk_count, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, zone,
               frequency_hz, lead, first_sample_index, point_count, payload
        FROM waveforms WHERE user_ref = @u AND seq > @a ORDER BY seq LIMIT @n
        """,
        "SELECT seq, uuid, deleted_ms, device_ref FROM tombstones WHERE user_ref = @u AND seq > @a ORDER BY seq LIMIT @n",
        "SELECT seq, uuid, device_ref FROM replaced_samples WHERE user_ref = @u AND seq > @a ORDER BY seq LIMIT @n",
        """
        SELECT seq, record_type, record_id, version, deleted, content_type, payload, modified_ms, device_ref
        FROM records WHERE user_ref = @u AND seq > @a ORDER BY seq LIMIT @n
        """,
        PgInsights.ChangesSql,
    ];
}
