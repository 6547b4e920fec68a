using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// Discrete samples and tombstones of a batch. Samples dedup on the unique <c>(user_ref, uuid)</c> index (ON CONFLICT
/// DO NOTHING plus the changed-row count, no lookup first); a higher <c>sync_version</c> of a stored sync identifier
/// replaces the stored sample (a <c>replaced_samples</c> change for the old uuid); a tombstone removes what it names
/// and wins over every later upload of the uuid; a sample in a range retention purged is ignored too. Stored and removed quantity samples
/// (and removed series) keep their rollups right.
/// </summary>
internal sealed class SampleApplier
{
    private readonly BatchScope _scope;
    private readonly WriterIds _ids;
    private readonly RollupWriter _rollups;
    private readonly RetentionHorizons _horizons;
    private readonly RawStatement _tombstoneExists, _insertSample;
    private readonly SqliteCommand _hasTombstones, _insertTombstone, _deleteSample, _deleteSeries, _deleteWaveforms;
    private readonly SqliteCommand _selectSync, _sampleExists, _insertReplaced;

    // Parameter indexes of the two hot statements, resolved by name once.
    private readonly int _probeUser, _probeUuid;
    private readonly int _user, _uuid, _seq, _type, _vendorType, _start, _end, _zone, _quantity, _category, _unit, _source, _device, _syncId, _syncVersion, _metadata;

    public SampleApplier(WriterStatements statements, BatchScope scope, WriterIds ids, RollupWriter rollups, RetentionHorizons horizons)
    {
        (_scope, _ids, _rollups, _horizons) = (scope, ids, rollups, horizons);
        _hasTombstones = statements.Prepare("SELECT EXISTS (SELECT 1 FROM tombstones WHERE user_ref = $user)", ("$user", SqliteType.Integer));
        _tombstoneExists = statements.PrepareRaw("SELECT 1 FROM tombstones WHERE user_ref = $user AND uuid = $uuid");
        (_probeUser, _probeUuid) = (_tombstoneExists.Parameter("$user"), _tombstoneExists.Parameter("$uuid"));
        _insertTombstone = statements.Prepare(
            """
            INSERT INTO tombstones (user_ref, uuid, seq, deleted_ms, device_ref) VALUES ($user, $uuid, $seq, $deleted, $device)
            ON CONFLICT (user_ref, uuid) DO NOTHING
            """,
            ("$user", SqliteType.Integer), ("$uuid", SqliteType.Blob), ("$seq", SqliteType.Integer), ("$deleted", SqliteType.Integer),
            ("$device", SqliteType.Integer));
        (string, SqliteType)[] byUuid = [("$user", SqliteType.Integer), ("$uuid", SqliteType.Blob)];
        _deleteSample = statements.Prepare(
            "DELETE FROM samples WHERE user_ref = $user AND uuid = $uuid RETURNING type, start_ms, source_ref, quantity", byUuid);
        _deleteSeries = statements.Prepare("DELETE FROM series WHERE user_ref = $user AND uuid = $uuid RETURNING type, source_ref, payload", byUuid);
        _deleteWaveforms = statements.Prepare("DELETE FROM waveforms WHERE user_ref = $user AND uuid = $uuid", byUuid);
        _sampleExists = statements.Prepare("SELECT EXISTS (SELECT 1 FROM samples WHERE user_ref = $user AND uuid = $uuid)", byUuid);

        _insertSample = statements.PrepareRaw(
            """
            INSERT INTO samples (user_ref, uuid, seq, type, vendor_type, start_ms, end_ms, zone, quantity, category,
                                 unit_ref, source_ref, device_ref, sync_id, sync_version, metadata)
            VALUES ($user, $uuid, $seq, $type, $vendorType, $start, $end, $zone, $quantity, $category,
                    $unit, $source, $device, $syncId, $syncVersion, $metadata)
            ON CONFLICT DO NOTHING
            """);
        var insert = _insertSample;
        (_user, _uuid, _seq, _type, _vendorType, _start, _end, _zone) = (insert.Parameter("$user"), insert.Parameter("$uuid"),
            insert.Parameter("$seq"), insert.Parameter("$type"), insert.Parameter("$vendorType"), insert.Parameter("$start"),
            insert.Parameter("$end"), insert.Parameter("$zone"));
        (_quantity, _category, _unit, _source, _device, _syncId, _syncVersion, _metadata) = (insert.Parameter("$quantity"),
            insert.Parameter("$category"), insert.Parameter("$unit"), insert.Parameter("$source"), insert.Parameter("$device"),
            insert.Parameter("$syncId"), insert.Parameter("$syncVersion"), insert.Parameter("$metadata"));

        _selectSync = statements.Prepare(
            "SELECT uuid, sync_version FROM samples WHERE user_ref = $user AND sync_id = $syncId",
            ("$user", SqliteType.Integer), ("$syncId", SqliteType.Text));
        _insertReplaced = statements.Prepare(
            "INSERT INTO replaced_samples (user_ref, seq, uuid, device_ref) VALUES ($user, $seq, $uuid, $device)",
            ("$user", SqliteType.Integer), ("$seq", SqliteType.Integer), ("$uuid", SqliteType.Blob), ("$device", SqliteType.Integer));
    }

    /// <summary>Looks once per batch whether the user has any tombstone (most never do: their items skip the probe).</summary>
    public void LoadTombstoneState()
    {
        _hasTombstones.Bind("$user", _scope.UserRef);
        _scope.UserHasTombstones = (long)_hasTombstones.ExecuteScalar()! != 0;
    }

    /// <summary>True when the user deleted the item whose uuid is in <see cref="BatchScope.Uuid"/>.</summary>
    public bool IsTombstoned()
    {
        if (!_scope.UserHasTombstones)
        {
            return false;
        }

        _tombstoneExists.Int64(_probeUser, _scope.UserRef);
        _tombstoneExists.Blob(_probeUuid, _scope.Uuid);
        return _tombstoneExists.ScalarInt64() is not null;
    }

    public void ApplyDeletions(IReadOnlyList<TombstoneRecord> deletions)
    {
        var scope = _scope;
        for (var i = 0; i < deletions.Count; i++)
        {
            var deletion = deletions[i];
            UuidBytes.Write(deletion.Uuid, scope.Uuid);
            _insertTombstone.Bind("$user", scope.UserRef);
            _insertTombstone.Bind("$uuid", scope.Uuid);
            _insertTombstone.Bind("$seq", scope.NextSequence);
            _insertTombstone.Bind("$deleted", deletion.DeletedUnixMs);
            _insertTombstone.Bind("$device", scope.DeviceRef);
            var stored = _insertTombstone.ExecuteNonQuery();
            scope.CountInsert(stored);
            if (stored == 0)
            {
                continue;
            }

            scope.UserHasTombstones = true;
            RemoveSample(scope.Uuid);
            RemoveSeries(scope.Uuid);
            _deleteWaveforms.Bind("$user", scope.UserRef);
            _deleteWaveforms.Bind("$uuid", scope.Uuid);
            _deleteWaveforms.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes the user's series with <paramref name="uuid"/> (if stored) and takes its points out of their rollups.</summary>
    private void RemoveSeries(byte[] uuid)
    {
        _deleteSeries.Bind("$user", _scope.UserRef);
        _deleteSeries.Bind("$uuid", uuid);
        int type;
        long sourceRef;
        byte[] payload;
        using (var removed = _deleteSeries.ExecuteReader())
        {
            if (!removed.Read())
            {
                return;
            }

            (type, sourceRef, payload) = (removed.GetInt32(0), removed.GetInt64(1), (byte[])removed.GetValue(2));
        }

        _rollups.RemovedSeries(type, sourceRef, payload);
    }

    // Hot loops run once per batch: without this they would stay in tier-0 (on-stack-replaced) code for a long time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ApplySamples(IReadOnlyList<SampleRecord> samples)
    {
        var scope = _scope;
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            UuidBytes.Write(sample.Uuid, scope.Uuid);
            if (IsTombstoned() || _horizons.IsPurged(sample.Type, sample.StartUnixMs))
            {
                scope.IgnoredDeleted++;
                continue;
            }

            var syncId = string.IsNullOrEmpty(sample.SyncIdentifier) ? null : sample.SyncIdentifier;
            if (syncId is null || !TryReplace(sample, syncId))
            {
                scope.CountInsert(InsertSample(sample, syncId));
            }
        }
    }

    /// <summary>
    /// A sample whose sync identifier is already stored: a higher version replaces the stored one, a lower or equal one
    /// is a duplicate. False when the identifier is new (the caller inserts the sample as usual).
    /// </summary>
    private bool TryReplace(SampleRecord sample, string syncId)
    {
        var scope = _scope;
        _selectSync.Bind("$user", scope.UserRef);
        _selectSync.Bind("$syncId", syncId);
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

        if (oldUuid is null)
        {
            return false;
        }

        var sameUuid = oldUuid.AsSpan().SequenceEqual(scope.Uuid);
        if (sample.SyncVersion <= oldVersion || (!sameUuid && SampleExists(scope.Uuid)))
        {
            scope.Duplicates++;
            return true;
        }

        RemoveSample(oldUuid);
        if (!sameUuid)
        {
            _insertReplaced.Bind("$user", scope.UserRef);
            _insertReplaced.Bind("$seq", scope.TakeSequence());
            _insertReplaced.Bind("$uuid", oldUuid);
            _insertReplaced.Bind("$device", scope.DeviceRef);
            _insertReplaced.ExecuteNonQuery();
        }

        if (InsertSample(sample, syncId) == 0)
        {
            throw new InvalidOperationException("A replacing sample conflicted after its predecessor was removed.");
        }

        scope.TakeSequence();
        scope.Replaced++;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int InsertSample(SampleRecord sample, string? syncId)
    {
        var insert = _insertSample;
        var scope = _scope;
        var sourceRef = _ids.Source(sample.Source);
        insert.Int64(_user, scope.UserRef);
        insert.Blob(_uuid, scope.Uuid);
        insert.Int64(_seq, scope.NextSequence);
        insert.Int64(_type, sample.Type);
        insert.Text(_vendorType, sample.VendorType);
        insert.Int64(_start, sample.StartUnixMs);
        insert.Int64(_end, sample.EndUnixMs);
        insert.Int64OrNull(_zone, sample.ZoneOffsetMinutes);
        insert.DoubleOrNull(_quantity, sample.Quantity);
        insert.Int64OrNull(_category, sample.Category);
        insert.Int64(_unit, _ids.Unit(sample.Unit));
        insert.Int64(_source, sourceRef);
        insert.Int64(_device, scope.DeviceRef);
        insert.Text(_syncId, syncId);
        insert.Int64OrNull(_syncVersion, syncId is null ? null : unchecked((long)sample.SyncVersion));
        insert.Text(_metadata, MetadataCodec.Encode(sample.Metadata));
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
        _deleteSample.Bind("$user", _scope.UserRef);
        _deleteSample.Bind("$uuid", uuid);
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
        _sampleExists.Bind("$user", _scope.UserRef);
        _sampleExists.Bind("$uuid", uuid);
        return (long)_sampleExists.ExecuteScalar()! != 0;
    }
}
