using System.Text;
using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// Writes a <see cref="GroupPlan"/> inside the group's transaction in three round trips, every statement set-based:
/// (1) the devices (upsert returning their ids) and the deletions (a deleted series returns its payload: its buckets
/// are recomputed), plus, only when buckets are recomputed, a read of the series that remain in them; (2) the new
/// samples by binary COPY into a staging table; (3) one INSERT … SELECT … ON CONFLICT from the staging table into samples, then series, waveform chunks,
/// tombstones, replacements, records, rollups, anchors, epochs, change counters, batch rows and the NOTIFY, each one
/// statement over arrays.
/// </summary>
internal static class PgGroupWriter
{
    /// <summary>The channel every instance listens on; the payload is user ids, one per line.</summary>
    public const string Channel = "healthgrpc_changes";

    // NOTIFY payloads must stay under 8,000 bytes.
    private const int MaxPayloadBytes = 7_000;

    public const string StagingTable = """
        CREATE TEMP TABLE IF NOT EXISTS stage_samples (LIKE samples) ON COMMIT DELETE ROWS
        """;

    private const string SampleColumns =
        "user_ref, type, start_ms, seq, uuid, vendor_type, end_ms, zone, quantity, category, unit_ref, source_ref, device_ref, sync_id, sync_version, metadata";

    public static async Task WriteAsync(
        NpgsqlConnection connection, GroupPlan plan, StoredState state, long? probeMs, IReadOnlyCollection<string> notify, CancellationToken ct)
    {
        var deviceIds = await WriteDevicesAndDeletionsAsync(connection, plan, state, ct).ConfigureAwait(false);
        var remainingSeries = await PgRollupWrites.ReadRemainingSeriesAsync(connection, plan.RecomputedBuckets, ct).ConfigureAwait(false);
        var staged = await StageSamplesAsync(connection, plan, deviceIds, ct).ConfigureAwait(false);

        await using var batch = new NpgsqlBatch(connection);
        var insertSamples = Command($"INSERT INTO samples ({SampleColumns}) SELECT {SampleColumns} FROM stage_samples ON CONFLICT DO NOTHING");
        if (staged > 0)
        {
            batch.BatchCommands.Add(insertSamples);
        }

        AddSeries(batch, plan, deviceIds);
        AddWaveforms(batch, plan, deviceIds);
        AddTombstonesAndReplacements(batch, plan, deviceIds);
        AddRecords(batch, plan, deviceIds);
        AddRollups(batch, plan, remainingSeries);
        AddDeviceState(batch, plan, deviceIds, state.CommitMs);
        if (probeMs is { } probe)
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO health_probe (id, probed_ms) VALUES (1, @t) ON CONFLICT (id) DO UPDATE SET probed_ms = excluded.probed_ms",
                Value("t", probe)));
        }

        if (notify.Count > 0)
        {
            // Delivered to every listening instance when (and only if) the transaction commits.
            batch.BatchCommands.Add(Command(
                "SELECT pg_notify(@channel, payload) FROM unnest(@payloads) AS p(payload)",
                Value("channel", Channel), Array("payloads", NpgsqlDbType.Text, Payloads(notify))));
        }

        if (batch.BatchCommands.Count == 0)
        {
            return;
        }

        await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        if (staged > 0 && insertSamples.RecordsAffected != staged)
        {
            // The plan decided these rows were new under the users' locks: a conflict means something wrote without them.
            throw new InvalidOperationException($"{staged - insertSamples.RecordsAffected} planned samples conflicted with stored rows.");
        }
    }

    private static async Task<Dictionary<DeviceKey, long>> WriteDevicesAndDeletionsAsync(
        NpgsqlConnection connection, GroupPlan plan, StoredState state, CancellationToken ct)
    {
        var ids = state.Devices.ToDictionary(pair => pair.Key, pair => pair.Value.Id);
        await using var batch = new NpgsqlBatch(connection);
        var devices = plan.DeviceNewestEpochs.ToList();
        if (devices.Count > 0)
        {
            batch.BatchCommands.Add(Command(
                """
                INSERT INTO devices (user_ref, device_id, newest_epoch, last_commit_ms)
                SELECT u, d, e, @t FROM unnest(@users, @devices, @epochs) AS v(u, d, e)
                ON CONFLICT (user_ref, device_id) DO UPDATE
                    SET newest_epoch = GREATEST(devices.newest_epoch, excluded.newest_epoch), last_commit_ms = excluded.last_commit_ms
                RETURNING user_ref, device_id, id
                """,
                Value("t", state.CommitMs),
                Array("users", NpgsqlDbType.Bigint, devices.Select(d => d.Key.UserRef).ToArray()),
                Array("devices", NpgsqlDbType.Text, devices.Select(d => d.Key.DeviceId).ToArray()),
                Array("epochs", NpgsqlDbType.Bigint, devices.Select(d => unchecked((long)d.Value)).ToArray())));
        }

        if (plan.DeletedSamples.Count > 0)
        {
            batch.BatchCommands.Add(Command(
                "DELETE FROM samples WHERE (user_ref, uuid) IN (SELECT * FROM unnest(@users, @uuids))",
                Array("users", NpgsqlDbType.Bigint, plan.DeletedSamples.Select(k => k.UserRef).ToArray()),
                Array("uuids", NpgsqlDbType.Uuid, plan.DeletedSamples.Select(k => k.Uuid).ToArray())));
        }

        if (plan.DeletedSeriesAndWaveforms.Count > 0)
        {
            var users = Array("users", NpgsqlDbType.Bigint, plan.DeletedSeriesAndWaveforms.Select(k => k.UserRef).ToArray());
            var uuids = Array("uuids", NpgsqlDbType.Uuid, plan.DeletedSeriesAndWaveforms.Select(k => k.Uuid).ToArray());
            batch.BatchCommands.Add(Command(
                "DELETE FROM series WHERE (user_ref, uuid) IN (SELECT * FROM unnest(@users, @uuids)) RETURNING user_ref, type, source_ref, payload",
                users, uuids));
            batch.BatchCommands.Add(Command(
                "DELETE FROM waveforms WHERE (user_ref, uuid) IN (SELECT * FROM unnest(@users, @uuids))",
                users.Clone(), uuids.Clone()));
        }

        if (batch.BatchCommands.Count == 0)
        {
            return ids;
        }

        // Two statements return rows, told apart by their width: the devices (3 columns) and the deleted series (4).
        await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        do
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                if (reader.FieldCount == 3)
                {
                    ids[new DeviceKey(reader.GetInt64(0), reader.GetString(1))] = reader.GetInt64(2);
                }
                else
                {
                    plan.RecomputedBuckets.UnionWith(SeriesRollups.Buckets(
                        reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2), (byte[])reader.GetValue(3)));
                }
            }
        }
        while (await reader.NextResultAsync(ct).ConfigureAwait(false));

        return ids;
    }

    /// <summary>Binary COPY of the new samples (with their final change sequences) into the staging table; returns the row count.</summary>
    private static async Task<int> StageSamplesAsync(NpgsqlConnection connection, GroupPlan plan, Dictionary<DeviceKey, long> deviceIds, CancellationToken ct)
    {
        var rows = 0;
        foreach (var planned in plan.Samples)
        {
            rows += planned.Removed ? 0 : 1;
        }

        if (rows == 0)
        {
            return 0;
        }

        await using var copy = await connection.BeginBinaryImportAsync($"COPY stage_samples ({SampleColumns}) FROM STDIN (FORMAT BINARY)", ct).ConfigureAwait(false);
        foreach (var planned in plan.Samples)
        {
            if (planned.Removed)
            {
                continue;
            }

            var sample = planned.Sample;
            await copy.StartRowAsync(ct).ConfigureAwait(false);
            await copy.WriteAsync(planned.UserRef, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await copy.WriteAsync(sample.Type, NpgsqlDbType.Integer, ct).ConfigureAwait(false);
            await copy.WriteAsync(sample.StartUnixMs, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await copy.WriteAsync(planned.Seq, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await copy.WriteAsync(sample.Uuid, NpgsqlDbType.Uuid, ct).ConfigureAwait(false);
            await WriteOrNullAsync(copy, sample.VendorType, NpgsqlDbType.Text, ct).ConfigureAwait(false);
            await copy.WriteAsync(sample.EndUnixMs, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await WriteOrNullAsync(copy, sample.ZoneOffsetMinutes, NpgsqlDbType.Integer, ct).ConfigureAwait(false);
            await WriteOrNullAsync(copy, sample.Quantity, NpgsqlDbType.Double, ct).ConfigureAwait(false);
            await WriteOrNullAsync(copy, sample.Category, NpgsqlDbType.Integer, ct).ConfigureAwait(false);
            await copy.WriteAsync(planned.UnitRef, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await copy.WriteAsync(planned.SourceRef, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await copy.WriteAsync(deviceIds[planned.Device], NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await WriteOrNullAsync(copy, planned.SyncId, NpgsqlDbType.Text, ct).ConfigureAwait(false);
            await WriteOrNullAsync<long>(copy, planned.SyncId is null ? null : unchecked((long)sample.SyncVersion), NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await WriteOrNullAsync(copy, Sqlite.MetadataCodec.Encode(sample.Metadata), NpgsqlDbType.Text, ct).ConfigureAwait(false);
        }

        await copy.CompleteAsync(ct).ConfigureAwait(false);
        return rows;
    }

    private static Task WriteOrNullAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken ct)
        where T : class
        => value is null ? copy.WriteNullAsync(ct) : copy.WriteAsync(value, type, ct);

    private static Task WriteOrNullAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken ct)
        where T : struct
        => value is { } present ? copy.WriteAsync(present, type, ct) : copy.WriteNullAsync(ct);

    private static void AddSeries(NpgsqlBatch batch, GroupPlan plan, Dictionary<DeviceKey, long> deviceIds)
    {
        var rows = plan.Series.Where(s => !s.Removed).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        batch.BatchCommands.Add(Command(
            """
            INSERT INTO series (user_ref, uuid, seq, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms, zone, point_count, payload)
            SELECT * FROM unnest(@users, @uuids, @seqs, @types, @vendors, @units, @sources, @devices, @starts, @ends, @zones, @points, @payloads)
            """,
            Array("users", NpgsqlDbType.Bigint, rows.Select(r => r.UserRef).ToArray()),
            Array("uuids", NpgsqlDbType.Uuid, rows.Select(r => r.Item.Uuid).ToArray()),
            Array("seqs", NpgsqlDbType.Bigint, rows.Select(r => r.Seq).ToArray()),
            Array("types", NpgsqlDbType.Integer, rows.Select(r => r.Item.Type).ToArray()),
            Array("vendors", NpgsqlDbType.Text, rows.Select(r => r.Item.VendorType).ToArray()),
            Array("units", NpgsqlDbType.Bigint, rows.Select(r => r.UnitRef).ToArray()),
            Array("sources", NpgsqlDbType.Bigint, rows.Select(r => r.SourceRef).ToArray()),
            Array("devices", NpgsqlDbType.Bigint, rows.Select(r => deviceIds[r.Device]).ToArray()),
            Array("starts", NpgsqlDbType.Bigint, rows.Select(r => r.Item.StartUnixMs).ToArray()),
            Array("ends", NpgsqlDbType.Bigint, rows.Select(r => r.Item.EndUnixMs).ToArray()),
            Array("zones", NpgsqlDbType.Integer, rows.Select(r => r.Item.ZoneOffsetMinutes).ToArray()),
            Array("points", NpgsqlDbType.Integer, rows.Select(r => r.Item.PointCount).ToArray()),
            Array("payloads", NpgsqlDbType.Bytea, rows.Select(r => r.Item.Payload).ToArray())));
    }

    private static void AddWaveforms(NpgsqlBatch batch, GroupPlan plan, Dictionary<DeviceKey, long> deviceIds)
    {
        var rows = plan.Waveforms.Where(w => !w.Removed).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        batch.BatchCommands.Add(Command(
            """
            INSERT INTO waveforms (user_ref, uuid, chunk_index, chunk_count, seq, type, vendor_type, unit_ref, source_ref, device_ref,
                                   start_ms, zone, frequency_hz, lead, first_sample_index, point_count, payload)
            SELECT * FROM unnest(@users, @uuids, @chunks, @counts, @seqs, @types, @vendors, @units, @sources, @devices,
                                 @starts, @zones, @frequencies, @leads, @firsts, @points, @payloads)
            """,
            Array("users", NpgsqlDbType.Bigint, rows.Select(r => r.UserRef).ToArray()),
            Array("uuids", NpgsqlDbType.Uuid, rows.Select(r => r.Item.Uuid).ToArray()),
            Array("chunks", NpgsqlDbType.Bigint, rows.Select(r => (long)r.Item.ChunkIndex).ToArray()),
            Array("counts", NpgsqlDbType.Bigint, rows.Select(r => (long)r.Item.ChunkCount).ToArray()),
            Array("seqs", NpgsqlDbType.Bigint, rows.Select(r => r.Seq).ToArray()),
            Array("types", NpgsqlDbType.Integer, rows.Select(r => r.Item.Type).ToArray()),
            Array("vendors", NpgsqlDbType.Text, rows.Select(r => r.Item.VendorType).ToArray()),
            Array("units", NpgsqlDbType.Bigint, rows.Select(r => r.UnitRef).ToArray()),
            Array("sources", NpgsqlDbType.Bigint, rows.Select(r => r.SourceRef).ToArray()),
            Array("devices", NpgsqlDbType.Bigint, rows.Select(r => deviceIds[r.Device]).ToArray()),
            Array("starts", NpgsqlDbType.Bigint, rows.Select(r => r.Item.StartUnixMs).ToArray()),
            Array("zones", NpgsqlDbType.Integer, rows.Select(r => r.Item.ZoneOffsetMinutes).ToArray()),
            Array("frequencies", NpgsqlDbType.Double, rows.Select(r => r.Item.SamplingFrequencyHz).ToArray()),
            Array("leads", NpgsqlDbType.Integer, rows.Select(r => r.Item.Lead).ToArray()),
            Array("firsts", NpgsqlDbType.Bigint, rows.Select(r => unchecked((long)r.Item.FirstSampleIndex)).ToArray()),
            Array("points", NpgsqlDbType.Integer, rows.Select(r => r.Item.PointCount).ToArray()),
            Array("payloads", NpgsqlDbType.Bytea, rows.Select(r => r.Item.Payload).ToArray())));
    }

    private static void AddTombstonesAndReplacements(NpgsqlBatch batch, GroupPlan plan, Dictionary<DeviceKey, long> deviceIds)
    {
        if (plan.Tombstones.Count > 0)
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO tombstones (user_ref, uuid, seq, deleted_ms, device_ref) SELECT * FROM unnest(@users, @uuids, @seqs, @deleted, @devices)",
                Array("users", NpgsqlDbType.Bigint, plan.Tombstones.Select(t => t.UserRef).ToArray()),
                Array("uuids", NpgsqlDbType.Uuid, plan.Tombstones.Select(t => t.Uuid).ToArray()),
                Array("seqs", NpgsqlDbType.Bigint, plan.Tombstones.Select(t => t.Seq).ToArray()),
                Array("deleted", NpgsqlDbType.Bigint, plan.Tombstones.Select(t => t.DeletedMs).ToArray()),
                Array("devices", NpgsqlDbType.Bigint, plan.Tombstones.Select(t => deviceIds[t.Device]).ToArray())));
        }

        if (plan.Replacements.Count > 0)
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO replaced_samples (user_ref, seq, uuid, device_ref) SELECT * FROM unnest(@users, @seqs, @uuids, @devices)",
                Array("users", NpgsqlDbType.Bigint, plan.Replacements.Select(r => r.UserRef).ToArray()),
                Array("seqs", NpgsqlDbType.Bigint, plan.Replacements.Select(r => r.Seq).ToArray()),
                Array("uuids", NpgsqlDbType.Uuid, plan.Replacements.Select(r => r.OldUuid).ToArray()),
                Array("devices", NpgsqlDbType.Bigint, plan.Replacements.Select(r => deviceIds[r.Device]).ToArray())));
        }
    }

    private static void AddRecords(NpgsqlBatch batch, GroupPlan plan, Dictionary<DeviceKey, long> deviceIds)
    {
        var rows = plan.Records.Values.ToList();
        if (rows.Count == 0)
        {
            return;
        }

        batch.BatchCommands.Add(Command(
            """
            INSERT INTO records (user_ref, record_type, record_id, version, deleted, content_type, payload, modified_ms, device_ref, seq)
            SELECT * FROM unnest(@users, @types, @ids, @versions, @deleted, @contentTypes, @payloads, @modified, @devices, @seqs)
            ON CONFLICT (user_ref, record_type, record_id) DO UPDATE SET
                version = excluded.version, deleted = excluded.deleted, content_type = excluded.content_type,
                payload = excluded.payload, modified_ms = excluded.modified_ms, device_ref = excluded.device_ref, seq = excluded.seq
            """,
            Array("users", NpgsqlDbType.Bigint, rows.Select(r => r.UserRef).ToArray()),
            Array("types", NpgsqlDbType.Text, rows.Select(r => r.Record.RecordType).ToArray()),
            Array("ids", NpgsqlDbType.Text, rows.Select(r => r.Record.RecordId).ToArray()),
            Array("versions", NpgsqlDbType.Bigint, rows.Select(r => unchecked((long)r.Record.Version)).ToArray()),
            Array("deleted", NpgsqlDbType.Boolean, rows.Select(r => r.Record.Deleted).ToArray()),
            Array("contentTypes", NpgsqlDbType.Text, rows.Select(r => r.Record.ContentType).ToArray()),
            Array("payloads", NpgsqlDbType.Bytea, rows.Select(r => r.Record.Deleted ? [] : r.Record.Payload).ToArray()),
            Array("modified", NpgsqlDbType.Bigint, rows.Select(r => r.Record.ModifiedUnixMs).ToArray()),
            Array("devices", NpgsqlDbType.Bigint, rows.Select(r => deviceIds[r.Device]).ToArray()),
            Array("seqs", NpgsqlDbType.Bigint, rows.Select(r => r.Seq).ToArray())));
    }

    /// <summary>
    /// Buckets that lost a stored sample or series are rebuilt from the raw samples (after this group's inserts: min/max
    /// cannot be subtracted); then every touched bucket gets the group's sums added (and a rebuilt one the points of the
    /// series that remain in it), one upsert row per bucket.
    /// </summary>
    private static void AddRollups(NpgsqlBatch batch, GroupPlan plan, IReadOnlyList<StoredSeriesPayload> remainingSeries)
    {
        if (plan.RecomputedBuckets.Count > 0)
        {
            var buckets = plan.RecomputedBuckets.ToList();
            NpgsqlParameter[] Keys() =>
            [
                Array("users", NpgsqlDbType.Bigint, buckets.Select(b => b.UserRef).ToArray()),
                Array("types", NpgsqlDbType.Integer, buckets.Select(b => b.Type).ToArray()),
                Array("buckets", NpgsqlDbType.Bigint, buckets.Select(b => b.BucketMs).ToArray()),
                Array("sources", NpgsqlDbType.Bigint, buckets.Select(b => b.SourceRef).ToArray()),
            ];
            batch.BatchCommands.Add(Command(
                """
                DELETE FROM rollups WHERE (user_ref, type, bucket_ms, source_ref) IN (SELECT * FROM unnest(@users, @types, @buckets, @sources))
                """,
                Keys()));
            batch.BatchCommands.Add(Command(
                $"""
                INSERT INTO rollups (user_ref, type, bucket_ms, source_ref, sum, count, min, max, first, first_ms, last, last_ms)
                SELECT k.u, k.t, k.b, k.s, a.sum, a.n, a.min, a.max, a.first, a.first_ms, a.last, a.last_ms
                FROM unnest(@users, @types, @buckets, @sources) AS k(u, t, b, s)
                CROSS JOIN LATERAL (
                    SELECT SUM(quantity) AS sum, COUNT(*) AS n, MIN(quantity) AS min, MAX(quantity) AS max,
                           (array_agg(quantity ORDER BY start_ms, seq))[1] AS first, MIN(start_ms) AS first_ms,
                           (array_agg(quantity ORDER BY start_ms DESC, seq DESC))[1] AS last, MAX(start_ms) AS last_ms
                    FROM samples
                    WHERE user_ref = k.u AND type = k.t AND start_ms >= k.b AND start_ms < k.b + {BucketKey.Length}
                      AND source_ref = k.s AND quantity IS NOT NULL) AS a
                WHERE a.n > 0
                """,
                Keys()));
        }

        var deltas = plan.BucketDeltas(remainingSeries);
        if (deltas.Count > 0)
        {
            batch.BatchCommands.Add(PgRollupWrites.Upsert(deltas));
        }
    }

    /// <summary>Anchors, epochs' high-water marks, the users' change counters and the batch rows with their acks.</summary>
    private static void AddDeviceState(NpgsqlBatch batch, GroupPlan plan, Dictionary<DeviceKey, long> deviceIds, long commitMs)
    {
        if (plan.Anchors.Count > 0)
        {
            var anchors = plan.Anchors.Values.ToList();
            batch.BatchCommands.Add(Command(
                """
                INSERT INTO anchors (device_ref, type, vendor_type, epoch, batch_seq, anchor)
                SELECT * FROM unnest(@devices, @types, @vendors, @epochs, @seqs, @anchors)
                ON CONFLICT (device_ref, type, vendor_type) DO UPDATE SET
                    epoch = excluded.epoch, batch_seq = excluded.batch_seq, anchor = excluded.anchor
                """,
                Array("devices", NpgsqlDbType.Bigint, anchors.Select(a => deviceIds[a.Device]).ToArray()),
                Array("types", NpgsqlDbType.Integer, anchors.Select(a => a.Type).ToArray()),
                Array("vendors", NpgsqlDbType.Text, anchors.Select(a => a.VendorType).ToArray()),
                Array("epochs", NpgsqlDbType.Bigint, anchors.Select(a => unchecked((long)a.Epoch)).ToArray()),
                Array("seqs", NpgsqlDbType.Bigint, anchors.Select(a => unchecked((long)a.BatchSeq)).ToArray()),
                Array("anchors", NpgsqlDbType.Bytea, anchors.Select(a => a.Anchor).ToArray())));
        }

        if (plan.HighWaterMarks.Count > 0)
        {
            var marks = plan.HighWaterMarks.ToList();
            batch.BatchCommands.Add(Command(
                """
                INSERT INTO device_epochs (device_ref, epoch, high_water_mark) SELECT * FROM unnest(@devices, @epochs, @marks)
                ON CONFLICT (device_ref, epoch) DO UPDATE SET high_water_mark = excluded.high_water_mark
                """,
                Array("devices", NpgsqlDbType.Bigint, marks.Select(m => deviceIds[m.Key.Device]).ToArray()),
                Array("epochs", NpgsqlDbType.Bigint, marks.Select(m => unchecked((long)m.Key.Epoch)).ToArray()),
                Array("marks", NpgsqlDbType.Bigint, marks.Select(m => unchecked((long)m.Value)).ToArray())));
        }

        if (plan.ChangeSequences.Count > 0)
        {
            batch.BatchCommands.Add(Command(
                "UPDATE users SET change_seq = v.s FROM unnest(@users, @seqs) AS v(u, s) WHERE users.id = v.u",
                Array("users", NpgsqlDbType.Bigint, plan.ChangeSequences.Keys.ToArray()),
                Array("seqs", NpgsqlDbType.Bigint, plan.ChangeSequences.Values.ToArray())));
        }

        if (plan.Batches.Count > 0)
        {
            batch.BatchCommands.Add(Command(
                """
                INSERT INTO batches (device_ref, epoch, batch_seq, user_ref, change_seq, commit_ms, rejected_atomic, ack)
                SELECT d, e, s, u, c, @t, r, a FROM unnest(@devices, @epochs, @seqs, @users, @changes, @rejected, @acks) WITH ORDINALITY AS v(d, e, s, u, c, r, a, o)
                ORDER BY o
                """,
                Value("t", commitMs),
                Array("devices", NpgsqlDbType.Bigint, plan.Batches.Select(b => deviceIds[b.Device]).ToArray()),
                Array("epochs", NpgsqlDbType.Bigint, plan.Batches.Select(b => unchecked((long)b.Epoch)).ToArray()),
                Array("seqs", NpgsqlDbType.Bigint, plan.Batches.Select(b => unchecked((long)b.BatchSeq)).ToArray()),
                Array("users", NpgsqlDbType.Bigint, plan.Batches.Select(b => b.UserRef).ToArray()),
                Array("changes", NpgsqlDbType.Bigint, plan.Batches.Select(b => b.ChangeSeq).ToArray()),
                Array("rejected", NpgsqlDbType.Boolean, plan.Batches.Select(b => b.RejectedAtomic).ToArray()),
                Array("acks", NpgsqlDbType.Bytea, plan.Batches.Select(b => b.Ack).ToArray())));
        }
    }

    /// <summary>User ids, one per line, cut into NOTIFY payloads under the size limit.</summary>
    private static string[] Payloads(IReadOnlyCollection<string> users)
    {
        var payloads = new List<string>();
        var current = new StringBuilder();
        var bytes = 0;
        foreach (var user in users)
        {
            var size = Encoding.UTF8.GetByteCount(user) + 1;
            if (current.Length > 0 && bytes + size > MaxPayloadBytes)
            {
                payloads.Add(current.ToString());
                current.Clear();
                bytes = 0;
            }

            current.Append(current.Length == 0 ? string.Empty : "\n").Append(user);
            bytes += size;
        }

        payloads.Add(current.ToString());
        return [.. payloads];
    }
}
