using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// The first round trip of a group's transaction: lock the group's users' rows (in id order, so two instances locking
/// overlapping users never deadlock), read the database clock, then the stored state of everything the group's items
/// touch, all set-based (one statement per table with the group's keys as arrays).
/// </summary>
internal static class PgGroupReader
{
    public static async Task<StoredState> ReadAsync(
        NpgsqlConnection connection, IReadOnlyList<CommitItem> items, IReadOnlyDictionary<string, long> users, CancellationToken ct)
    {
        var state = new StoredState();
        var keys = new GroupKeys(items, users);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command(
            "SELECT id, change_seq FROM users WHERE id = ANY(@ids) ORDER BY id FOR UPDATE",
            Array("ids", NpgsqlDbType.Bigint, keys.Users.ToArray())));
        // After the locks: the previous holder of any of them committed before this clock reading.
        batch.BatchCommands.Add(Command("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"));
        batch.BatchCommands.Add(Command(
            """
            SELECT d.user_ref, d.device_id, d.id, d.newest_epoch, e.epoch, e.high_water_mark
            FROM devices d LEFT JOIN device_epochs e ON e.device_ref = d.id
            WHERE (d.user_ref, d.device_id) IN (SELECT * FROM unnest(@users, @devices))
            """,
            Array("users", NpgsqlDbType.Bigint, keys.DeviceUsers), Array("devices", NpgsqlDbType.Text, keys.DeviceIds)));
        batch.BatchCommands.Add(Command(
            """
            SELECT user_ref, uuid, type, start_ms, source_ref, quantity IS NOT NULL, sync_id, sync_version FROM samples
            WHERE (user_ref, uuid) IN (SELECT * FROM unnest(@users, @uuids))
            UNION
            SELECT user_ref, uuid, type, start_ms, source_ref, quantity IS NOT NULL, sync_id, sync_version FROM samples
            WHERE (user_ref, sync_id) IN (SELECT * FROM unnest(@syncUsers, @syncIds))
            """,
            Array("users", NpgsqlDbType.Bigint, keys.SampleUsers), Array("uuids", NpgsqlDbType.Uuid, keys.SampleUuids),
            Array("syncUsers", NpgsqlDbType.Bigint, keys.SyncUsers), Array("syncIds", NpgsqlDbType.Text, keys.SyncIds)));
        batch.BatchCommands.Add(Command(
            "SELECT user_ref, uuid FROM tombstones WHERE (user_ref, uuid) IN (SELECT * FROM unnest(@users, @uuids))",
            Array("users", NpgsqlDbType.Bigint, keys.AnyUsers), Array("uuids", NpgsqlDbType.Uuid, keys.AnyUuids)));
        batch.BatchCommands.Add(Command(
            "SELECT user_ref, uuid FROM series WHERE (user_ref, uuid) IN (SELECT * FROM unnest(@users, @uuids))",
            Array("users", NpgsqlDbType.Bigint, keys.SeriesUsers), Array("uuids", NpgsqlDbType.Uuid, keys.SeriesUuids)));
        batch.BatchCommands.Add(Command(
            "SELECT user_ref, uuid, chunk_index FROM waveforms WHERE (user_ref, uuid) IN (SELECT * FROM unnest(@users, @uuids))",
            Array("users", NpgsqlDbType.Bigint, keys.WaveformUsers), Array("uuids", NpgsqlDbType.Uuid, keys.WaveformUuids)));
        batch.BatchCommands.Add(Command(
            """
            SELECT user_ref, record_type, record_id, version FROM records
            WHERE (user_ref, record_type, record_id) IN (SELECT * FROM unnest(@users, @types, @ids))
            """,
            Array("users", NpgsqlDbType.Bigint, keys.RecordUsers), Array("types", NpgsqlDbType.Text, keys.RecordTypes),
            Array("ids", NpgsqlDbType.Text, keys.RecordIds)));
        // A handful of rows (one per type with retention); after the locks, so a purge that held one has committed its horizon.
        batch.BatchCommands.Add(Command("SELECT type, purged_before_ms FROM retention_horizons"));

        await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            state.ChangeSequences[reader.GetInt64(0)] = reader.GetInt64(1);
        }

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        state.CommitMs = reader.GetInt64(0);

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var key = new DeviceKey(reader.GetInt64(0), reader.GetString(1));
            if (!state.Devices.TryGetValue(key, out var device))
            {
                state.Devices[key] = device = new StoredDevice(reader.GetInt64(2), unchecked((ulong)reader.GetInt64(3)), []);
            }

            if (!reader.IsDBNull(4))
            {
                device.HighWaterMarks[unchecked((ulong)reader.GetInt64(4))] = unchecked((ulong)reader.GetInt64(5));
            }
        }

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            state.Samples[(reader.GetInt64(0), reader.GetGuid(1))] = new StoredSample(
                reader.GetInt32(2),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetBoolean(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? 0 : unchecked((ulong)reader.GetInt64(7)));
        }

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            state.Tombstones.Add((reader.GetInt64(0), reader.GetGuid(1)));
        }

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            state.Series.Add((reader.GetInt64(0), reader.GetGuid(1)));
        }

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var key = (reader.GetInt64(0), reader.GetGuid(1));
            if (!state.WaveformChunks.TryGetValue(key, out var chunks))
            {
                state.WaveformChunks[key] = chunks = [];
            }

            chunks.Add(unchecked((uint)reader.GetInt64(2)));
        }

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            state.RecordVersions[(reader.GetInt64(0), reader.GetString(1), reader.GetString(2))] = unchecked((ulong)reader.GetInt64(3));
        }

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            state.RetentionHorizons[reader.GetInt32(0)] = reader.GetInt64(1);
        }

        return state;
    }

    /// <summary>The original acks of replayed batch_seqs, read in the group's transaction (device ids known from the stored state).</summary>
    public static async Task<Dictionary<(long DeviceRef, ulong Epoch, ulong BatchSeq), byte[]>> ReadAcksAsync(
        NpgsqlConnection connection, IEnumerable<(long DeviceRef, ulong Epoch, ulong BatchSeq)> lookups, CancellationToken ct)
    {
        var list = lookups.ToList();
        var acks = new Dictionary<(long, ulong, ulong), byte[]>();
        if (list.Count == 0)
        {
            return acks;
        }

        await using var command = Command(
            connection,
            """
            SELECT b.device_ref, b.epoch, b.batch_seq, b.ack FROM batches b
            WHERE (b.device_ref, b.epoch, b.batch_seq) IN (SELECT * FROM unnest(@devices, @epochs, @seqs))
            """,
            Array("devices", NpgsqlDbType.Bigint, list.Select(l => l.DeviceRef).ToArray()),
            Array("epochs", NpgsqlDbType.Bigint, list.Select(l => unchecked((long)l.Epoch)).ToArray()),
            Array("seqs", NpgsqlDbType.Bigint, list.Select(l => unchecked((long)l.BatchSeq)).ToArray()));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            acks[(reader.GetInt64(0), unchecked((ulong)reader.GetInt64(1)), unchecked((ulong)reader.GetInt64(2)))] = (byte[])reader.GetValue(3);
        }

        return acks;
    }

    /// <summary>The keys a group's items look up, as parallel arrays per table.</summary>
    private sealed class GroupKeys
    {
        public GroupKeys(IReadOnlyList<CommitItem> items, IReadOnlyDictionary<string, long> users)
        {
            var devices = new HashSet<DeviceKey>();
            foreach (var item in items)
            {
                var batch = item.Batch;
                var user = users[batch.UserId];
                Users.Add(user);
                if (devices.Add(new DeviceKey(user, batch.DeviceId)))
                {
                    DeviceUsers.Add(user);
                    DeviceIds.Add(batch.DeviceId);
                }

                foreach (var deletion in batch.Deletions)
                {
                    Add(SampleUsers, SampleUuids, user, deletion.Uuid);
                    Add(AnyUsers, AnyUuids, user, deletion.Uuid);
                }

                foreach (var sample in batch.Samples)
                {
                    Add(SampleUsers, SampleUuids, user, sample.Uuid);
                    Add(AnyUsers, AnyUuids, user, sample.Uuid);
                    if (!string.IsNullOrEmpty(sample.SyncIdentifier))
                    {
                        SyncUsers.Add(user);
                        SyncIds.Add(sample.SyncIdentifier);
                    }
                }

                foreach (var series in batch.Series)
                {
                    Add(SeriesUsers, SeriesUuids, user, series.Uuid);
                    Add(AnyUsers, AnyUuids, user, series.Uuid);
                }

                foreach (var waveform in batch.Waveforms)
                {
                    Add(WaveformUsers, WaveformUuids, user, waveform.Uuid);
                    Add(AnyUsers, AnyUuids, user, waveform.Uuid);
                }

                foreach (var record in batch.Records)
                {
                    RecordUsers.Add(user);
                    RecordTypes.Add(record.RecordType);
                    RecordIds.Add(record.RecordId);
                }
            }
        }

        public SortedSet<long> Users { get; } = [];

        public List<long> DeviceUsers { get; } = [];

        public List<string> DeviceIds { get; } = [];

        public List<long> SampleUsers { get; } = [];

        public List<Guid> SampleUuids { get; } = [];

        public List<long> SyncUsers { get; } = [];

        public List<string> SyncIds { get; } = [];

        public List<long> AnyUsers { get; } = [];

        public List<Guid> AnyUuids { get; } = [];

        public List<long> SeriesUsers { get; } = [];

        public List<Guid> SeriesUuids { get; } = [];

        public List<long> WaveformUsers { get; } = [];

        public List<Guid> WaveformUuids { get; } = [];

        public List<long> RecordUsers { get; } = [];

        public List<string> RecordTypes { get; } = [];

        public List<string> RecordIds { get; } = [];

        private static void Add(List<long> users, List<Guid> uuids, long user, Guid uuid)
        {
            users.Add(user);
            uuids.Add(uuid);
        }
    }
}
