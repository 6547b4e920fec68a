using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// The single writer connection with its prepared statements and the id caches. Used only by the commit loop's
/// thread. Caches hold only ids of rows that are committed; ids created in the open transaction sit in the
/// pending maps until the group commits (a rolled-back batch or group just drops them: lookups fall back to SQL).
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly List<SqliteCommand> _commands = [];
    private readonly List<RawStatement> _statements = [];

    private readonly Dictionary<string, long> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _pendingUsers = new(StringComparer.Ordinal);
    private readonly Dictionary<SourceRecord, long> _sources = [];
    private readonly Dictionary<SourceRecord, long> _pendingSources = [];
    private readonly Dictionary<string, long> _units = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _pendingUnits = new(StringComparer.Ordinal);

    private readonly byte[] _uuid = new byte[16];

    private readonly SqliteCommand _begin, _commit, _rollback;
    private readonly SqliteCommand _selectUser, _insertUser, _selectUserSeq, _updateUserSeq, _hasTombstones;
    private readonly SqliteCommand _insertToken;
    private readonly SqliteCommand _touchHealthProbe;
    private readonly SqliteCommand _selectDevice, _insertDevice, _updateDevice, _upsertEpoch, _selectAck, _insertBatch, _upsertAnchor;
    private readonly SqliteCommand _selectSource, _insertSource, _selectUnit, _insertUnit;
    private readonly RawStatement _tombstoneExists, _insertSample;
    private readonly SqliteCommand _insertTombstone, _deleteSample, _deleteSeries, _deleteWaveforms;
    private readonly SqliteCommand _selectSync, _sampleExists, _insertReplaced;
    private readonly SqliteCommand _insertSeries, _insertWaveform;
    private readonly SqliteCommand _selectRecord, _insertRecord, _updateRecord;
    private readonly RollupWriter _rollups;

    // Per-batch state.
    private long _userRef;
    private long _deviceRef;
    private long _seq;
    private bool _userHasTombstones;
    private SourceRecord? _lastSource;
    private long _lastSourceRef;
    private string? _lastUnit;
    private long _lastUnitRef;

    public SqliteWriter(string path, SqliteStoreOptions options)
    {
        _connection = SqliteSchema.OpenWriter(path, options.BusyTimeout, options.WriterCacheKiB);
        try
        {
            SqliteSchema.Migrate(_connection);

            _begin = Prepare("BEGIN IMMEDIATE");
            _commit = Prepare("COMMIT");
            _rollback = Prepare("ROLLBACK");

            _selectUser = Prepare("SELECT id FROM users WHERE user_id = $u", ("$u", SqliteType.Text));
            _insertUser = Prepare(
                "INSERT INTO users (user_id, change_seq, created_ms) VALUES ($u, 0, $t) ON CONFLICT (user_id) DO NOTHING",
                ("$u", SqliteType.Text), ("$t", SqliteType.Integer));
            _selectUserSeq = Prepare("SELECT change_seq FROM users WHERE id = $id", ("$id", SqliteType.Integer));
            _updateUserSeq = Prepare("UPDATE users SET change_seq = $s WHERE id = $id", ("$s", SqliteType.Integer), ("$id", SqliteType.Integer));
            _hasTombstones = Prepare("SELECT EXISTS (SELECT 1 FROM tombstones WHERE user_ref = $u)", ("$u", SqliteType.Integer));
            _insertToken = Prepare(
                "INSERT INTO tokens (token_hash, user_ref, created_ms) VALUES ($h, $u, $t) ON CONFLICT (token_hash) DO NOTHING",
                ("$h", SqliteType.Blob), ("$u", SqliteType.Integer), ("$t", SqliteType.Integer));

            _touchHealthProbe = Prepare(
                "INSERT INTO health_probe (id, probed_ms) VALUES (1, $t) ON CONFLICT (id) DO UPDATE SET probed_ms = excluded.probed_ms",
                ("$t", SqliteType.Integer));

            _selectDevice = Prepare(
                """
                SELECT d.id, d.newest_epoch,
                       (SELECT high_water_mark FROM device_epochs WHERE device_ref = d.id AND epoch = $e)
                FROM devices d WHERE d.user_ref = $u AND d.device_id = $d
                """,
                ("$u", SqliteType.Integer), ("$d", SqliteType.Text), ("$e", SqliteType.Integer));
            _insertDevice = Prepare(
                "INSERT INTO devices (user_ref, device_id, newest_epoch, last_commit_ms) VALUES ($u, $d, $e, $t) RETURNING id",
                ("$u", SqliteType.Integer), ("$d", SqliteType.Text), ("$e", SqliteType.Integer), ("$t", SqliteType.Integer));
            _updateDevice = Prepare(
                "UPDATE devices SET newest_epoch = $e, last_commit_ms = $t WHERE id = $id",
                ("$e", SqliteType.Integer), ("$t", SqliteType.Integer), ("$id", SqliteType.Integer));
            _upsertEpoch = Prepare(
                """
                INSERT INTO device_epochs (device_ref, epoch, high_water_mark) VALUES ($id, $e, $h)
                ON CONFLICT (device_ref, epoch) DO UPDATE SET high_water_mark = excluded.high_water_mark
                """,
                ("$id", SqliteType.Integer), ("$e", SqliteType.Integer), ("$h", SqliteType.Integer));
            _selectAck = Prepare(
                "SELECT ack FROM batches WHERE device_ref = $id AND epoch = $e AND batch_seq = $s",
                ("$id", SqliteType.Integer), ("$e", SqliteType.Integer), ("$s", SqliteType.Integer));
            _insertBatch = Prepare(
                """
                INSERT INTO batches (device_ref, epoch, batch_seq, user_ref, change_seq, commit_ms, rejected_atomic, ack)
                VALUES ($id, $e, $s, $u, $c, $t, $r, $a)
                """,
                ("$id", SqliteType.Integer), ("$e", SqliteType.Integer), ("$s", SqliteType.Integer), ("$u", SqliteType.Integer),
                ("$c", SqliteType.Integer), ("$t", SqliteType.Integer), ("$r", SqliteType.Integer), ("$a", SqliteType.Blob));
            _upsertAnchor = Prepare(
                """
                INSERT INTO anchors (device_ref, type, vendor_type, epoch, batch_seq, anchor) VALUES ($id, $ty, $v, $e, $s, $a)
                ON CONFLICT (device_ref, type, vendor_type) DO UPDATE SET
                    epoch = excluded.epoch, batch_seq = excluded.batch_seq, anchor = excluded.anchor
                """,
                ("$id", SqliteType.Integer), ("$ty", SqliteType.Integer), ("$v", SqliteType.Text), ("$e", SqliteType.Integer),
                ("$s", SqliteType.Integer), ("$a", SqliteType.Blob));

            const string sourceWhere =
                "kind = $k AND name = $n AND manufacturer = $m AND model = $mo AND hardware_version = $hw AND software_version = $sw AND app_id = $app";
            (string, SqliteType)[] sourceParams =
            [
                ("$k", SqliteType.Integer), ("$n", SqliteType.Text), ("$m", SqliteType.Text), ("$mo", SqliteType.Text),
                ("$hw", SqliteType.Text), ("$sw", SqliteType.Text), ("$app", SqliteType.Text),
            ];
            _selectSource = Prepare("SELECT id FROM sources WHERE " + sourceWhere, sourceParams);
            _insertSource = Prepare(
                """
                INSERT INTO sources (kind, name, manufacturer, model, hardware_version, software_version, app_id)
                VALUES ($k, $n, $m, $mo, $hw, $sw, $app) RETURNING id
                """,
                sourceParams);
            _selectUnit = Prepare("SELECT id FROM units WHERE unit = $u", ("$u", SqliteType.Text));
            _insertUnit = Prepare("INSERT INTO units (unit) VALUES ($u) RETURNING id", ("$u", SqliteType.Text));

            _tombstoneExists = PrepareRaw("SELECT 1 FROM tombstones WHERE user_ref = ?1 AND uuid = ?2");
            _insertTombstone = Prepare(
                """
                INSERT INTO tombstones (user_ref, uuid, seq, deleted_ms, device_ref) VALUES ($u, $id, $s, $t, $d)
                ON CONFLICT (user_ref, uuid) DO NOTHING
                """,
                ("$u", SqliteType.Integer), ("$id", SqliteType.Blob), ("$s", SqliteType.Integer), ("$t", SqliteType.Integer),
                ("$d", SqliteType.Integer));
            _deleteSample = Prepare(
                "DELETE FROM samples WHERE user_ref = $u AND uuid = $id RETURNING type, start_ms, source_ref, quantity",
                ("$u", SqliteType.Integer), ("$id", SqliteType.Blob));
            _deleteSeries = Prepare("DELETE FROM series WHERE user_ref = $u AND uuid = $id", ("$u", SqliteType.Integer), ("$id", SqliteType.Blob));
            _deleteWaveforms = Prepare("DELETE FROM waveforms WHERE user_ref = $u AND uuid = $id", ("$u", SqliteType.Integer), ("$id", SqliteType.Blob));

            _insertSample = PrepareRaw(
                """
                INSERT INTO samples (user_ref, uuid, seq, type, vendor_type, start_ms, end_ms, zone, quantity, category,
                                     unit_ref, source_ref, device_ref, sync_id, sync_version, metadata)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                ON CONFLICT DO NOTHING
                """);
            _selectSync = Prepare(
                "SELECT uuid, sync_version FROM samples WHERE user_ref = $u AND sync_id = $si",
                ("$u", SqliteType.Integer), ("$si", SqliteType.Text));
            _sampleExists = Prepare(
                "SELECT EXISTS (SELECT 1 FROM samples WHERE user_ref = $u AND uuid = $id)",
                ("$u", SqliteType.Integer), ("$id", SqliteType.Blob));
            _insertReplaced = Prepare(
                "INSERT INTO replaced_samples (user_ref, seq, uuid, device_ref) VALUES ($u, $s, $id, $d)",
                ("$u", SqliteType.Integer), ("$s", SqliteType.Integer), ("$id", SqliteType.Blob), ("$d", SqliteType.Integer));

            _insertSeries = Prepare(
                """
                INSERT INTO series (user_ref, uuid, seq, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms,
                                    zone, point_count, payload)
                VALUES ($u, $id, $s, $ty, $v, $un, $src, $d, $st, $en, $z, $n, $p)
                ON CONFLICT DO NOTHING
                """,
                ("$u", SqliteType.Integer), ("$id", SqliteType.Blob), ("$s", SqliteType.Integer), ("$ty", SqliteType.Integer),
                ("$v", SqliteType.Text), ("$un", SqliteType.Integer), ("$src", SqliteType.Integer), ("$d", SqliteType.Integer),
                ("$st", SqliteType.Integer), ("$en", SqliteType.Integer), ("$z", SqliteType.Integer), ("$n", SqliteType.Integer),
                ("$p", SqliteType.Blob));
            _insertWaveform = Prepare(
                """
                INSERT INTO waveforms (user_ref, uuid, chunk_index, chunk_count, seq, type, vendor_type, unit_ref, source_ref,
                                       device_ref, start_ms, zone, frequency_hz, lead, first_sample_index, point_count, payload)
                VALUES ($u, $id, $ci, $cc, $s, $ty, $v, $un, $src, $d, $st, $z, $f, $l, $fi, $n, $p)
                ON CONFLICT DO NOTHING
                """,
                ("$u", SqliteType.Integer), ("$id", SqliteType.Blob), ("$ci", SqliteType.Integer), ("$cc", SqliteType.Integer),
                ("$s", SqliteType.Integer), ("$ty", SqliteType.Integer), ("$v", SqliteType.Text), ("$un", SqliteType.Integer),
                ("$src", SqliteType.Integer), ("$d", SqliteType.Integer), ("$st", SqliteType.Integer), ("$z", SqliteType.Integer),
                ("$f", SqliteType.Real), ("$l", SqliteType.Integer), ("$fi", SqliteType.Integer), ("$n", SqliteType.Integer),
                ("$p", SqliteType.Blob));

            _selectRecord = Prepare(
                "SELECT version FROM records WHERE user_ref = $u AND record_type = $rt AND record_id = $ri",
                ("$u", SqliteType.Integer), ("$rt", SqliteType.Text), ("$ri", SqliteType.Text));
            (string, SqliteType)[] recordParams =
            [
                ("$u", SqliteType.Integer), ("$rt", SqliteType.Text), ("$ri", SqliteType.Text), ("$ve", SqliteType.Integer),
                ("$del", SqliteType.Integer), ("$ct", SqliteType.Text), ("$p", SqliteType.Blob), ("$m", SqliteType.Integer),
                ("$d", SqliteType.Integer), ("$s", SqliteType.Integer),
            ];
            _insertRecord = Prepare(
                """
                INSERT INTO records (user_ref, record_type, record_id, version, deleted, content_type, payload, modified_ms, device_ref, seq)
                VALUES ($u, $rt, $ri, $ve, $del, $ct, $p, $m, $d, $s)
                """,
                recordParams);
            _updateRecord = Prepare(
                """
                UPDATE records SET version = $ve, deleted = $del, content_type = $ct, payload = $p, modified_ms = $m,
                                   device_ref = $d, seq = $s
                WHERE user_ref = $u AND record_type = $rt AND record_id = $ri
                """,
                recordParams);
            _rollups = new RollupWriter(Prepare);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var statement in _statements)
        {
            statement.Dispose();
        }

        _statements.Clear();
        foreach (var command in _commands)
        {
            command.Dispose();
        }

        _commands.Clear();
        _connection.Dispose();
    }

    // ---- transaction control -------------------------------------------------------------------------------------

    public void Begin() => _begin.ExecuteNonQuery();

    public void Commit()
    {
        _commit.ExecuteNonQuery();
        Merge(_pendingUsers, _users);
        Merge(_pendingSources, _sources);
        Merge(_pendingUnits, _units);
    }

    /// <summary>Rolls the open transaction back (if any) and forgets ids created in it.</summary>
    public void Rollback()
    {
        DropPending();
        if (!_connection.Handle!.IsInvalid && SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0)
        {
            _rollback.ExecuteNonQuery();
        }
    }

    private void DropPending()
    {
        _pendingUsers.Clear();
        _pendingSources.Clear();
        _pendingUnits.Clear();
        _lastSource = null;
        _lastUnit = null;
    }

    private static void Merge<TKey>(Dictionary<TKey, long> pending, Dictionary<TKey, long> committed)
        where TKey : notnull
    {
        foreach (var (key, value) in pending)
        {
            committed[key] = value;
        }

        pending.Clear();
    }

    // ---- users and tokens ----------------------------------------------------------------------------------------

    public long EnsureUser(string userId, long nowMs)
    {
        if (_users.TryGetValue(userId, out var id) || _pendingUsers.TryGetValue(userId, out id))
        {
            return id;
        }

        _selectUser.Parameters[0].Value = userId;
        if (_selectUser.ExecuteScalar() is long existing)
        {
            _pendingUsers[userId] = existing; // may have been created earlier in this (uncommitted) transaction
            return existing;
        }

        _insertUser.Parameters[0].Value = userId;
        _insertUser.Parameters[1].Value = nowMs;
        _insertUser.ExecuteNonQuery();
        id = (long)_selectUser.ExecuteScalar()!;
        _pendingUsers[userId] = id;
        return id;
    }

    public void AddToken(string userId, byte[] tokenHash, long nowMs)
    {
        var userRef = EnsureUser(userId, nowMs);
        _insertToken.Parameters[0].Value = tokenHash;
        _insertToken.Parameters[1].Value = userRef;
        _insertToken.Parameters[2].Value = nowMs;
        _insertToken.ExecuteNonQuery();
    }

    public void TouchHealthProbe(long nowMs)
    {
        _touchHealthProbe.Parameters[0].Value = nowMs;
        _touchHealthProbe.ExecuteNonQuery();
    }

    // ---- batches -------------------------------------------------------------------------------------------------

    /// <summary>Evaluates and (when in sequence) applies one batch inside the open transaction.</summary>
    public CommitOutcome ApplyBatch(IngestBatch batch, DateTimeOffset commitTime)
    {
        var nowMs = commitTime.ToUnixTimeMilliseconds();
        _userRef = EnsureUser(batch.UserId, nowMs);
        var epoch = unchecked((long)batch.Epoch);

        long? deviceRef = null;
        ulong newestEpoch = 0, hwm = 0;
        _selectDevice.Parameters[0].Value = _userRef;
        _selectDevice.Parameters[1].Value = batch.DeviceId;
        _selectDevice.Parameters[2].Value = epoch;
        using (var reader = _selectDevice.ExecuteReader())
        {
            if (reader.Read())
            {
                deviceRef = reader.GetInt64(0);
                newestEpoch = unchecked((ulong)reader.GetInt64(1));
                hwm = reader.IsDBNull(2) ? 0 : unchecked((ulong)reader.GetInt64(2));
            }
        }

        if (batch.Epoch < newestEpoch)
        {
            // The high-water mark of the batch's own epoch, as GetDeviceStateAsync reports it for Hello.
            return new CommitOutcome.EpochFenced(newestEpoch, hwm);
        }

        if (batch.BatchSeq <= hwm)
        {
            _selectAck.Parameters[0].Value = deviceRef!.Value;
            _selectAck.Parameters[1].Value = epoch;
            _selectAck.Parameters[2].Value = unchecked((long)batch.BatchSeq);
            var ack = _selectAck.ExecuteScalar() as byte[] ?? [];
            return new CommitOutcome.Duplicate(ack, hwm);
        }

        if (batch.BatchSeq != hwm + 1)
        {
            return new CommitOutcome.SequenceGap(hwm);
        }

        // Apply.
        if (deviceRef is { } existingDevice)
        {
            _deviceRef = existingDevice;
            _updateDevice.Parameters[0].Value = unchecked((long)Math.Max(newestEpoch, batch.Epoch));
            _updateDevice.Parameters[1].Value = nowMs;
            _updateDevice.Parameters[2].Value = _deviceRef;
            _updateDevice.ExecuteNonQuery();
        }
        else
        {
            _insertDevice.Parameters[0].Value = _userRef;
            _insertDevice.Parameters[1].Value = batch.DeviceId;
            _insertDevice.Parameters[2].Value = epoch;
            _insertDevice.Parameters[3].Value = nowMs;
            _deviceRef = (long)_insertDevice.ExecuteScalar()!;
        }

        _upsertEpoch.Parameters[0].Value = _deviceRef;
        _upsertEpoch.Parameters[1].Value = epoch;
        _upsertEpoch.Parameters[2].Value = unchecked((long)batch.BatchSeq);
        _upsertEpoch.ExecuteNonQuery();

        _selectUserSeq.Parameters[0].Value = _userRef;
        _seq = (long)_selectUserSeq.ExecuteScalar()!;
        var startSeq = _seq;

        var counts = default(Counts);
        var rejectedAtomic = batch.Atomic && batch.RejectedCount > 0;
        if (!rejectedAtomic)
        {
            _rollups.BeginBatch(_userRef);
            _hasTombstones.Parameters[0].Value = _userRef;
            _userHasTombstones = (long)_hasTombstones.ExecuteScalar()! != 0;
            ApplyDeletions(batch.Deletions, ref counts);
            ApplySamples(batch.Samples, ref counts);
            ApplySeries(batch.Series, ref counts);
            ApplyWaveforms(batch.Waveforms, ref counts);
            ApplyRecords(batch.Records, ref counts);
            _rollups.Flush();
            foreach (var anchor in batch.Anchors)
            {
                _upsertAnchor.Parameters[0].Value = _deviceRef;
                _upsertAnchor.Parameters[1].Value = anchor.Type;
                _upsertAnchor.Parameters[2].Value = anchor.VendorType ?? string.Empty;
                _upsertAnchor.Parameters[3].Value = epoch;
                _upsertAnchor.Parameters[4].Value = unchecked((long)batch.BatchSeq);
                _upsertAnchor.Parameters[5].Value = anchor.Anchor;
                _upsertAnchor.ExecuteNonQuery();
            }
        }

        if (_seq != startSeq)
        {
            _updateUserSeq.Parameters[0].Value = _seq;
            _updateUserSeq.Parameters[1].Value = _userRef;
            _updateUserSeq.ExecuteNonQuery();
        }

        var result = new CommitResult(
            batch.BatchSeq,
            rejectedAtomic,
            counts.Accepted,
            counts.Duplicates,
            counts.Replaced,
            counts.IgnoredDeleted,
            batch.RejectedCount,
            rejectedAtomic ? [] : batch.Anchors,
            batch.BatchSeq,
            commitTime,
            _seq);
        var ackBytes = batch.EncodeAck(result) ?? throw new InvalidOperationException("EncodeAck returned null.");

        _insertBatch.Parameters[0].Value = _deviceRef;
        _insertBatch.Parameters[1].Value = epoch;
        _insertBatch.Parameters[2].Value = unchecked((long)batch.BatchSeq);
        _insertBatch.Parameters[3].Value = _userRef;
        _insertBatch.Parameters[4].Value = _seq;
        _insertBatch.Parameters[5].Value = nowMs;
        _insertBatch.Parameters[6].Value = rejectedAtomic ? 1L : 0L;
        _insertBatch.Parameters[7].Value = ackBytes;
        _insertBatch.ExecuteNonQuery();

        return new CommitOutcome.Committed(result, ackBytes);
    }

    private struct Counts
    {
        public int Accepted;
        public int Duplicates;
        public int Replaced;
        public int IgnoredDeleted;
    }

    private bool IsTombstoned(byte[] uuid)
    {
        if (!_userHasTombstones)
        {
            return false;
        }

        _tombstoneExists.Int64(1, _userRef);
        _tombstoneExists.Blob(2, uuid);
        return _tombstoneExists.ScalarInt64() is not null;
    }

    private void ApplyDeletions(IReadOnlyList<TombstoneRecord> deletions, ref Counts counts)
    {
        var insert = _insertTombstone.Parameters;
        for (var i = 0; i < deletions.Count; i++)
        {
            var deletion = deletions[i];
            UuidBytes.Write(deletion.Uuid, _uuid);
            insert[0].Value = _userRef;
            insert[1].Value = _uuid;
            insert[2].Value = _seq + 1;
            insert[3].Value = deletion.DeletedUnixMs;
            insert[4].Value = _deviceRef;
            if (_insertTombstone.ExecuteNonQuery() == 0)
            {
                counts.Duplicates++;
                continue;
            }

            _seq++;
            counts.Accepted++;
            _userHasTombstones = true;
            RemoveSample(_uuid);
            foreach (var delete in (ReadOnlySpan<SqliteCommand>)[_deleteSeries, _deleteWaveforms])
            {
                delete.Parameters[0].Value = _userRef;
                delete.Parameters[1].Value = _uuid;
                delete.ExecuteNonQuery();
            }
        }
    }

    // Hot loops run once per batch: without this they would stay in tier-0 (on-stack-replaced) code for a long time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ApplySamples(IReadOnlyList<SampleRecord> samples, ref Counts counts)
    {
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            UuidBytes.Write(sample.Uuid, _uuid);
            if (IsTombstoned(_uuid))
            {
                counts.IgnoredDeleted++;
                continue;
            }

            var syncId = string.IsNullOrEmpty(sample.SyncIdentifier) ? null : sample.SyncIdentifier;
            if (syncId is not null)
            {
                _selectSync.Parameters[0].Value = _userRef;
                _selectSync.Parameters[1].Value = syncId;
                byte[]? oldUuid = null;
                ulong oldVersion = 0;
                using (var reader = _selectSync.ExecuteReader())
                {
                    if (reader.Read())
                    {
                        oldUuid = (byte[])reader.GetValue(0);
                        oldVersion = reader.IsDBNull(1) ? 0 : unchecked((ulong)reader.GetInt64(1));
                    }
                }

                if (oldUuid is not null)
                {
                    var sameUuid = oldUuid.AsSpan().SequenceEqual(_uuid);
                    if (sample.SyncVersion <= oldVersion || (!sameUuid && SampleExists(_uuid)))
                    {
                        counts.Duplicates++;
                        continue;
                    }

                    RemoveSample(oldUuid);
                    if (!sameUuid)
                    {
                        _seq++;
                        _insertReplaced.Parameters[0].Value = _userRef;
                        _insertReplaced.Parameters[1].Value = _seq;
                        _insertReplaced.Parameters[2].Value = oldUuid;
                        _insertReplaced.Parameters[3].Value = _deviceRef;
                        _insertReplaced.ExecuteNonQuery();
                    }

                    if (InsertSample(sample, syncId) == 0)
                    {
                        throw new InvalidOperationException("A replacing sample conflicted after its predecessor was removed.");
                    }

                    _seq++;
                    counts.Replaced++;
                    continue;
                }
            }

            if (InsertSample(sample, syncId) == 0)
            {
                counts.Duplicates++;
            }
            else
            {
                _seq++;
                counts.Accepted++;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int InsertSample(SampleRecord sample, string? syncId)
    {
        var insert = _insertSample;
        var sourceRef = SourceRef(sample.Source);
        insert.Int64(1, _userRef);
        insert.Blob(2, _uuid);
        insert.Int64(3, _seq + 1);
        insert.Int64(4, sample.Type);
        insert.Text(5, sample.VendorType);
        insert.Int64(6, sample.StartUnixMs);
        insert.Int64(7, sample.EndUnixMs);
        insert.Int64OrNull(8, sample.ZoneOffsetMinutes);
        insert.DoubleOrNull(9, sample.Quantity);
        insert.Int64OrNull(10, sample.Category);
        insert.Int64(11, UnitRef(sample.Unit));
        insert.Int64(12, sourceRef);
        insert.Int64(13, _deviceRef);
        insert.Text(14, syncId);
        insert.Int64OrNull(15, syncId is null ? null : unchecked((long)sample.SyncVersion));
        insert.Text(16, MetadataCodec.Encode(sample.Metadata));
        var inserted = insert.Execute();
        if (inserted != 0 && sample.Quantity is { } quantity)
        {
            _rollups.Add(sample.Type, sourceRef, sample.StartUnixMs, quantity);
        }

        return inserted;
    }

    /// <summary>Deletes the user's sample with <paramref name="uuid"/> (if stored) and takes a quantity sample out of its rollup.</summary>
    private void RemoveSample(byte[] uuid)
    {
        _deleteSample.Parameters[0].Value = _userRef;
        _deleteSample.Parameters[1].Value = uuid;
        int type;
        long startMs, sourceRef;
        using (var removed = _deleteSample.ExecuteReader())
        {
            if (!removed.Read() || removed.IsDBNull(3))
            {
                return;
            }

            type = removed.GetInt32(0);
            startMs = removed.GetInt64(1);
            sourceRef = removed.GetInt64(2);
        }

        _rollups.Removed(type, sourceRef, startMs);
    }

    private bool SampleExists(byte[] uuid)
    {
        _sampleExists.Parameters[0].Value = _userRef;
        _sampleExists.Parameters[1].Value = uuid;
        return (long)_sampleExists.ExecuteScalar()! != 0;
    }

    /// <summary>Runs an INSERT ... ON CONFLICT DO NOTHING of one item: a new row takes the next change sequence.</summary>
    private void CountInsert(SqliteCommand insert, ref Counts counts)
    {
        if (insert.ExecuteNonQuery() == 0)
        {
            counts.Duplicates++;
            return;
        }

        _seq++;
        counts.Accepted++;
    }

    private void ApplySeries(IReadOnlyList<SeriesRecord> series, ref Counts counts)
    {
        var p = _insertSeries.Parameters;
        for (var i = 0; i < series.Count; i++)
        {
            var item = series[i];
            UuidBytes.Write(item.Uuid, _uuid);
            if (IsTombstoned(_uuid))
            {
                counts.IgnoredDeleted++;
                continue;
            }

            p[0].Value = _userRef;
            p[1].Value = _uuid;
            p[2].Value = _seq + 1;
            p[3].Value = item.Type;
            p[4].Value = (object?)item.VendorType ?? DBNull.Value;
            p[5].Value = UnitRef(item.Unit);
            p[6].Value = SourceRef(item.Source);
            p[7].Value = _deviceRef;
            p[8].Value = item.StartUnixMs;
            p[9].Value = item.EndUnixMs;
            p[10].Value = item.ZoneOffsetMinutes is { } zone ? zone : DBNull.Value;
            p[11].Value = item.PointCount;
            p[12].Value = item.Payload;
            CountInsert(_insertSeries, ref counts);
        }
    }

    private void ApplyWaveforms(IReadOnlyList<WaveformRecord> waveforms, ref Counts counts)
    {
        var p = _insertWaveform.Parameters;
        for (var i = 0; i < waveforms.Count; i++)
        {
            var item = waveforms[i];
            UuidBytes.Write(item.Uuid, _uuid);
            if (IsTombstoned(_uuid))
            {
                counts.IgnoredDeleted++;
                continue;
            }

            p[0].Value = _userRef;
            p[1].Value = _uuid;
            p[2].Value = (long)item.ChunkIndex;
            p[3].Value = (long)item.ChunkCount;
            p[4].Value = _seq + 1;
            p[5].Value = item.Type;
            p[6].Value = (object?)item.VendorType ?? DBNull.Value;
            p[7].Value = UnitRef(item.Unit);
            p[8].Value = SourceRef(item.Source);
            p[9].Value = _deviceRef;
            p[10].Value = item.StartUnixMs;
            p[11].Value = item.ZoneOffsetMinutes is { } zone ? zone : DBNull.Value;
            p[12].Value = item.SamplingFrequencyHz;
            p[13].Value = item.Lead;
            p[14].Value = unchecked((long)item.FirstSampleIndex);
            p[15].Value = item.PointCount;
            p[16].Value = item.Payload;
            CountInsert(_insertWaveform, ref counts);
        }
    }

    private void ApplyRecords(IReadOnlyList<DocumentRecord> records, ref Counts counts)
    {
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            _selectRecord.Parameters[0].Value = _userRef;
            _selectRecord.Parameters[1].Value = record.RecordType;
            _selectRecord.Parameters[2].Value = record.RecordId;
            var stored = _selectRecord.ExecuteScalar();
            SqliteCommand command;
            if (stored is long storedVersion)
            {
                if (record.Version <= unchecked((ulong)storedVersion))
                {
                    counts.Duplicates++;
                    continue;
                }

                command = _updateRecord;
                counts.Replaced++;
            }
            else
            {
                command = _insertRecord;
                counts.Accepted++;
            }

            _seq++;
            var p = command.Parameters;
            p[0].Value = _userRef;
            p[1].Value = record.RecordType;
            p[2].Value = record.RecordId;
            p[3].Value = unchecked((long)record.Version);
            p[4].Value = record.Deleted ? 1L : 0L;
            p[5].Value = record.ContentType;
            p[6].Value = record.Deleted ? [] : record.Payload;
            p[7].Value = record.ModifiedUnixMs;
            p[8].Value = _deviceRef;
            p[9].Value = _seq;
            command.ExecuteNonQuery();
        }
    }

    // ---- dimension ids -------------------------------------------------------------------------------------------

    private long SourceRef(SourceRecord source)
    {
        if (ReferenceEquals(source, _lastSource))
        {
            return _lastSourceRef;
        }

        if (!_sources.TryGetValue(source, out var id) && !_pendingSources.TryGetValue(source, out id))
        {
            var p = _selectSource.Parameters;
            p[0].Value = source.Kind;
            p[1].Value = source.Name;
            p[2].Value = source.Manufacturer;
            p[3].Value = source.Model;
            p[4].Value = source.HardwareVersion;
            p[5].Value = source.SoftwareVersion;
            p[6].Value = source.AppId;
            if (_selectSource.ExecuteScalar() is long existing)
            {
                id = existing;
                _pendingSources[source] = id;
            }
            else
            {
                var q = _insertSource.Parameters;
                for (var i = 0; i < p.Count; i++)
                {
                    q[i].Value = p[i].Value;
                }

                id = (long)_insertSource.ExecuteScalar()!;
                _pendingSources[source] = id;
            }
        }

        _lastSource = source;
        _lastSourceRef = id;
        return id;
    }

    private long UnitRef(string unit)
    {
        if (ReferenceEquals(unit, _lastUnit))
        {
            return _lastUnitRef;
        }

        if (!_units.TryGetValue(unit, out var id) && !_pendingUnits.TryGetValue(unit, out id))
        {
            _selectUnit.Parameters[0].Value = unit;
            if (_selectUnit.ExecuteScalar() is long existing)
            {
                id = existing;
                _pendingUnits[unit] = id;
            }
            else
            {
                _insertUnit.Parameters[0].Value = unit;
                id = (long)_insertUnit.ExecuteScalar()!;
                _pendingUnits[unit] = id;
            }
        }

        _lastUnit = unit;
        _lastUnitRef = id;
        return id;
    }

    private RawStatement PrepareRaw(string sql)
    {
        var statement = new RawStatement(_connection, sql);
        _statements.Add(statement);
        return statement;
    }

    private SqliteCommand Prepare(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        command.Prepare();
        _commands.Add(command);
        return command;
    }
}
