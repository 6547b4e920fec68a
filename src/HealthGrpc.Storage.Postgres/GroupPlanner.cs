namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// Decides, in memory and in queue order, what every batch of a group does: the same rules as the SQLite writer
/// (batch_seq and epochs, tombstones and retention horizons first, per-sample dedup by (user, uuid), sync_identifier versions, records by
/// version, one change sequence per stored item) applied to the <see cref="StoredState"/> the group read under its
/// user locks, overlaid with what earlier batches of the group did. Nothing touches the database here, so a batch whose
/// <see cref="IngestBatch.EncodeAck"/> throws is dropped and the group planned again without it.
/// </summary>
internal sealed class GroupPlanner
{
    private readonly StoredState _state;
    private readonly IReadOnlyDictionary<string, long> _users;
    private readonly IReadOnlyDictionary<SourceRecord, long> _sources;
    private readonly IReadOnlyDictionary<string, long> _units;
    private readonly GroupPlan _plan = new();

    // The stored state as earlier batches of the group left it.
    private readonly Dictionary<DeviceKey, (ulong NewestEpoch, Dictionary<ulong, ulong> HighWaterMarks)> _devices = [];
    private readonly Dictionary<(DeviceKey, ulong, ulong), byte[]> _groupAcks = [];
    private readonly Dictionary<(long, Guid), (StoredSample Sample, PlannedSample? Planned)> _samples = [];
    private readonly Dictionary<(long, string), Guid> _syncIds = [];
    private readonly HashSet<(long, Guid)> _tombstones;
    private readonly Dictionary<(long, Guid), PlannedItem<SeriesRecord>?> _series = [];
    private readonly Dictionary<(long, Guid), Dictionary<uint, PlannedItem<WaveformRecord>?>> _waveforms = [];
    private readonly Dictionary<(long, string, string), ulong> _records;

    // The batch being applied.
    private long _userRef;
    private DeviceKey _device;
    private long _seq;
    private int _accepted, _duplicates, _replaced, _ignoredDeleted;

    private GroupPlanner(StoredState state, IReadOnlyDictionary<string, long> users, IReadOnlyDictionary<SourceRecord, long> sources, IReadOnlyDictionary<string, long> units)
    {
        (_state, _users, _sources, _units) = (state, users, sources, units);
        foreach (var (key, device) in state.Devices)
        {
            _devices[key] = (device.NewestEpoch, new Dictionary<ulong, ulong>(device.HighWaterMarks));
        }

        foreach (var (key, sample) in state.Samples)
        {
            _samples[key] = (sample, null);
            if (sample.SyncId is { } syncId)
            {
                _syncIds[(key.UserRef, syncId)] = key.Uuid;
            }
        }

        _tombstones = [.. state.Tombstones];
        foreach (var key in state.Series)
        {
            _series[key] = null;
        }

        foreach (var (key, chunks) in state.WaveformChunks)
        {
            _waveforms[key] = chunks.ToDictionary(chunk => chunk, _ => (PlannedItem<WaveformRecord>?)null);
        }

        _records = new Dictionary<(long, string, string), ulong>(state.RecordVersions);
    }

    /// <summary>
    /// Plans the group's batches in order; <paramref name="failed"/> is set (and the plan null) when a batch's
    /// EncodeAck threw: the caller fails that batch and plans the rest again.
    /// </summary>
    public static GroupPlan? Plan(
        IReadOnlyList<CommitItem> items,
        StoredState state,
        IReadOnlyDictionary<string, long> users,
        IReadOnlyDictionary<SourceRecord, long> sources,
        IReadOnlyDictionary<string, long> units,
        out (CommitItem Item, Exception Error)? failed)
    {
        var planner = new GroupPlanner(state, users, sources, units);
        foreach (var item in items)
        {
            CommitOutcome? outcome;
            try
            {
                outcome = planner.Apply(item);
            }
            catch (Exception error)
            {
                failed = (item, error);
                return null;
            }

            // null: a replay of a stored batch, completed from its stored ack once planning is done.
            if (outcome is not null)
            {
                planner._plan.Outcomes[item] = outcome;
                if (outcome is CommitOutcome.Committed)
                {
                    planner._plan.CommittedUsers.Add(item.Batch.UserId);
                }
            }
        }

        failed = null;
        return planner._plan;
    }

    private CommitOutcome? Apply(CommitItem item)
    {
        var batch = item.Batch;
        _userRef = _users[batch.UserId];
        _device = new DeviceKey(_userRef, batch.DeviceId);
        var known = _devices.TryGetValue(_device, out var device);
        var newestEpoch = known ? device.NewestEpoch : 0;
        var hwm = known && device.HighWaterMarks.TryGetValue(batch.Epoch, out var mark) ? mark : 0;

        if (batch.Epoch < newestEpoch)
        {
            return new CommitOutcome.EpochFenced(newestEpoch, hwm);
        }

        if (batch.BatchSeq <= hwm)
        {
            if (_groupAcks.TryGetValue((_device, batch.Epoch, batch.BatchSeq), out var ack))
            {
                return new CommitOutcome.Duplicate(ack, hwm);
            }

            _plan.PendingDuplicates[item] = new StoredAckLookup(_device, batch.Epoch, batch.BatchSeq, hwm);
            return null;
        }

        if (batch.BatchSeq != hwm + 1)
        {
            return new CommitOutcome.SequenceGap(hwm);
        }

        // If EncodeAck throws below, the overlay is discarded: the group is planned again from the stored state.
        _seq = _plan.ChangeSequences.TryGetValue(_userRef, out var current) ? current : _state.ChangeSequences[_userRef];
        (_accepted, _duplicates, _replaced, _ignoredDeleted) = (0, 0, 0, 0);
        var rejectedAtomic = batch.Atomic && batch.RejectedCount > 0;
        if (!rejectedAtomic)
        {
            ApplyDeletions(batch.Deletions);
            ApplySamples(batch.Samples);
            ApplySeries(batch.Series);
            ApplyWaveforms(batch.Waveforms);
            ApplyRecords(batch.Records);
        }

        var result = new CommitResult(
            batch.BatchSeq,
            rejectedAtomic,
            _accepted,
            _duplicates,
            _replaced,
            _ignoredDeleted,
            batch.RejectedCount,
            rejectedAtomic ? [] : batch.Anchors,
            batch.BatchSeq,
            DateTimeOffset.FromUnixTimeMilliseconds(_state.CommitMs),
            _seq);
        var ackBytes = batch.EncodeAck(result) ?? throw new InvalidOperationException("EncodeAck returned null.");

        if (!rejectedAtomic)
        {
            foreach (var anchor in batch.Anchors)
            {
                var vendor = anchor.VendorType ?? string.Empty;
                _plan.Anchors[(_device, anchor.Type, vendor)] = new PlannedAnchor(_device, anchor.Type, vendor, batch.Epoch, batch.BatchSeq, anchor.Anchor);
            }
        }

        var highWaterMarks = known ? device.HighWaterMarks : [];
        highWaterMarks[batch.Epoch] = batch.BatchSeq;
        _devices[_device] = (Math.Max(newestEpoch, batch.Epoch), highWaterMarks);
        _plan.DeviceNewestEpochs[_device] = Math.Max(newestEpoch, batch.Epoch);
        _plan.HighWaterMarks[(_device, batch.Epoch)] = batch.BatchSeq;
        _plan.ChangeSequences[_userRef] = _seq;
        _plan.Batches.Add(new PlannedBatch(_device, batch.Epoch, batch.BatchSeq, _userRef, _seq, rejectedAtomic, ackBytes));
        _groupAcks[(_device, batch.Epoch, batch.BatchSeq)] = ackBytes;
        return new CommitOutcome.Committed(result, ackBytes);
    }

    private void ApplyDeletions(IReadOnlyList<TombstoneRecord> deletions)
    {
        foreach (var deletion in deletions)
        {
            var key = (_userRef, deletion.Uuid);
            if (!_tombstones.Add(key))
            {
                _duplicates++;
                continue;
            }

            _seq++;
            _accepted++;
            _plan.Tombstones.Add(new PlannedTombstone(_userRef, deletion.Uuid, _seq, deletion.DeletedUnixMs, _device));
            RemoveSample(key);
            if (_series.Remove(key, out var plannedSeries) && plannedSeries is not null)
            {
                plannedSeries.Removed = true;
            }

            if (_waveforms.Remove(key, out var chunks))
            {
                foreach (var planned in chunks.Values)
                {
                    planned?.Removed = true;
                }
            }

            _plan.DeletedSeriesAndWaveforms.Add(key);
        }
    }

    private void ApplySamples(IReadOnlyList<SampleRecord> samples)
    {
        foreach (var sample in samples)
        {
            var key = (_userRef, sample.Uuid);
            if (_tombstones.Contains(key) || _state.IsPurged(sample.Type, sample.StartUnixMs))
            {
                _ignoredDeleted++;
                continue;
            }

            var syncId = string.IsNullOrEmpty(sample.SyncIdentifier) ? null : sample.SyncIdentifier;
            if (syncId is not null && _syncIds.TryGetValue((_userRef, syncId), out var oldUuid))
            {
                var old = _samples[(_userRef, oldUuid)].Sample;
                var sameUuid = oldUuid == sample.Uuid;
                if (sample.SyncVersion <= old.SyncVersion || (!sameUuid && _samples.ContainsKey(key)))
                {
                    _duplicates++;
                    continue;
                }

                RemoveSample((_userRef, oldUuid));
                if (!sameUuid)
                {
                    _seq++;
                    _plan.Replacements.Add(new PlannedReplacement(_userRef, _seq, oldUuid, _device));
                }

                InsertSample(sample, syncId);
                _replaced++;
                continue;
            }

            if (_samples.ContainsKey(key))
            {
                _duplicates++;
                continue;
            }

            InsertSample(sample, syncId);
            _accepted++;
        }
    }

    private void InsertSample(SampleRecord sample, string? syncId)
    {
        _seq++;
        var sourceRef = _sources[sample.Source];
        var planned = new PlannedSample(_userRef, sample, syncId, _seq, sourceRef, _units[sample.Unit], _device);
        _plan.Samples.Add(planned);
        _samples[(_userRef, sample.Uuid)] = (
            new StoredSample(sample.Type, sample.StartUnixMs, sourceRef, sample.Quantity is not null, syncId, syncId is null ? 0 : sample.SyncVersion),
            planned);
        if (syncId is not null)
        {
            _syncIds[(_userRef, syncId)] = sample.Uuid;
        }
    }

    /// <summary>Removes the user's sample with this uuid, stored or planned; a stored quantity sample's bucket is recomputed.</summary>
    private void RemoveSample((long UserRef, Guid Uuid) key)
    {
        if (!_samples.Remove(key, out var removed))
        {
            return;
        }

        if (removed.Sample.SyncId is { } syncId && _syncIds.TryGetValue((key.UserRef, syncId), out var holder) && holder == key.Uuid)
        {
            _syncIds.Remove((key.UserRef, syncId));
        }

        if (removed.Planned is { } planned)
        {
            // Added by this group: it simply is not inserted (its change sequence stays unused, like a compacted change).
            planned.Removed = true;
            return;
        }

        _plan.DeletedSamples.Add(key);
        if (removed.Sample.HasQuantity)
        {
            _plan.RecomputedBuckets.Add(BucketKey.Of(key.UserRef, removed.Sample.Type, removed.Sample.SourceRef, removed.Sample.StartMs));
        }
    }

    private void ApplySeries(IReadOnlyList<SeriesRecord> series)
    {
        foreach (var item in series)
        {
            var key = (_userRef, item.Uuid);
            if (_tombstones.Contains(key) || _state.IsPurged(item.Type, item.StartUnixMs))
            {
                _ignoredDeleted++;
            }
            else if (_series.ContainsKey(key))
            {
                _duplicates++;
            }
            else
            {
                _seq++;
                _accepted++;
                var planned = new PlannedItem<SeriesRecord>(_userRef, item, _seq, _sources[item.Source], _units[item.Unit], _device);
                _plan.Series.Add(planned);
                _series[key] = planned;
            }
        }
    }

    private void ApplyWaveforms(IReadOnlyList<WaveformRecord> waveforms)
    {
        foreach (var item in waveforms)
        {
            var key = (_userRef, item.Uuid);
            if (_tombstones.Contains(key) || _state.IsPurged(item.Type, item.StartUnixMs))
            {
                _ignoredDeleted++;
                continue;
            }

            if (!_waveforms.TryGetValue(key, out var chunks))
            {
                _waveforms[key] = chunks = [];
            }

            if (chunks.ContainsKey(item.ChunkIndex))
            {
                _duplicates++;
                continue;
            }

            _seq++;
            _accepted++;
            var planned = new PlannedItem<WaveformRecord>(_userRef, item, _seq, _sources[item.Source], _units[item.Unit], _device);
            _plan.Waveforms.Add(planned);
            chunks[item.ChunkIndex] = planned;
        }
    }

    private void ApplyRecords(IReadOnlyList<DocumentRecord> records)
    {
        foreach (var record in records)
        {
            var key = (_userRef, record.RecordType, record.RecordId);
            if (_records.TryGetValue(key, out var stored))
            {
                if (record.Version <= stored)
                {
                    _duplicates++;
                    continue;
                }

                _replaced++;
            }
            else
            {
                _accepted++;
            }

            _seq++;
            _records[key] = record.Version;
            _plan.Records[key] = new PlannedRecord(_userRef, record, _seq, _device);
        }
    }
}
