namespace HealthGrpc.Storage.Postgres;

/// <summary>A sample the group inserts (with its final change sequence), unless a later item of the group removed it.</summary>
internal sealed class PlannedSample(long userRef, SampleRecord sample, string? syncId, long seq, long sourceRef, long unitRef, DeviceKey device)
{
    public long UserRef { get; } = userRef;

    public SampleRecord Sample { get; } = sample;

    public string? SyncId { get; } = syncId;

    public long Seq { get; } = seq;

    public long SourceRef { get; } = sourceRef;

    public long UnitRef { get; } = unitRef;

    public DeviceKey Device { get; } = device;

    public bool Removed { get; set; }
}

/// <summary>A series or waveform chunk the group inserts (unless a later deletion of the group removed it).</summary>
internal sealed class PlannedItem<T>(long userRef, T item, long seq, long sourceRef, long unitRef, DeviceKey device)
{
    public long UserRef { get; } = userRef;

    public T Item { get; } = item;

    public long Seq { get; } = seq;

    public long SourceRef { get; } = sourceRef;

    public long UnitRef { get; } = unitRef;

    public DeviceKey Device { get; } = device;

    public bool Removed { get; set; }
}

internal sealed record PlannedTombstone(long UserRef, Guid Uuid, long Seq, long DeletedMs, DeviceKey Device);

internal sealed record PlannedReplacement(long UserRef, long Seq, Guid OldUuid, DeviceKey Device);

internal sealed record PlannedRecord(long UserRef, DocumentRecord Record, long Seq, DeviceKey Device);

internal sealed record PlannedAnchor(DeviceKey Device, int Type, string VendorType, ulong Epoch, ulong BatchSeq, byte[] Anchor);

internal sealed record PlannedBatch(DeviceKey Device, ulong Epoch, ulong BatchSeq, long UserRef, long ChangeSeq, bool RejectedAtomic, byte[] Ack);

/// <summary>A replayed batch_seq whose original ack is stored (read after planning, in the same transaction).</summary>
internal sealed record StoredAckLookup(DeviceKey Device, ulong Epoch, ulong BatchSeq, ulong HighWaterMark);

/// <summary>Everything a group commit writes, decided in memory from the <see cref="StoredState"/>.</summary>
internal sealed class GroupPlan
{
    public Dictionary<CommitItem, CommitOutcome> Outcomes { get; } = [];

    public Dictionary<CommitItem, StoredAckLookup> PendingDuplicates { get; } = [];

    public HashSet<string> CommittedUsers { get; } = new(StringComparer.Ordinal);

    public Dictionary<DeviceKey, ulong> DeviceNewestEpochs { get; } = [];

    public Dictionary<(DeviceKey Device, ulong Epoch), ulong> HighWaterMarks { get; } = [];

    public List<PlannedSample> Samples { get; } = [];

    public List<(long UserRef, Guid Uuid)> DeletedSamples { get; } = [];

    public HashSet<(long UserRef, Guid Uuid)> DeletedSeriesAndWaveforms { get; } = [];

    public List<PlannedItem<SeriesRecord>> Series { get; } = [];

    public List<PlannedItem<WaveformRecord>> Waveforms { get; } = [];

    public List<PlannedTombstone> Tombstones { get; } = [];

    public List<PlannedReplacement> Replacements { get; } = [];

    /// <summary>The final version per record key (an earlier version written by the same group is overwritten).</summary>
    public Dictionary<(long UserRef, string RecordType, string RecordId), PlannedRecord> Records { get; } = [];

    /// <summary>Buckets that lost a stored sample or series: recomputed from the raw samples after the group's inserts (the series that remain are added back).</summary>
    public HashSet<BucketKey> RecomputedBuckets { get; } = [];

    public Dictionary<(DeviceKey Device, int Type, string VendorType), PlannedAnchor> Anchors { get; } = [];

    public Dictionary<long, long> ChangeSequences { get; } = [];

    public List<PlannedBatch> Batches { get; } = [];

    /// <summary>
    /// What the group adds to the rollups on top of the stored rows (after the recomputed buckets were rebuilt from the
    /// raw samples): the points <paramref name="remainingSeries"/> (stored series the group keeps) have in recomputed
    /// buckets, then the new quantity samples outside the recomputed buckets (which the rebuild already counted), then
    /// every point of the new series.
    /// </summary>
    public Dictionary<BucketKey, BucketDelta> BucketDeltas(IReadOnlyList<StoredSeriesPayload> remainingSeries)
    {
        var deltas = new Dictionary<BucketKey, BucketDelta>();
        foreach (var stored in remainingSeries)
        {
            SeriesRollups.AddPoints(deltas, stored.UserRef, stored.Type, stored.SourceRef, stored.Payload, RecomputedBuckets);
        }

        foreach (var planned in Samples)
        {
            if (planned.Removed || planned.Sample.Quantity is not { } value)
            {
                continue;
            }

            var key = BucketKey.Of(planned.UserRef, planned.Sample.Type, planned.SourceRef, planned.Sample.StartUnixMs);
            if (RecomputedBuckets.Contains(key))
            {
                continue;
            }

            if (!deltas.TryGetValue(key, out var delta))
            {
                deltas[key] = delta = new BucketDelta();
            }

            delta.Add(planned.Sample.StartUnixMs, value);
        }

        foreach (var planned in Series)
        {
            if (!planned.Removed)
            {
                SeriesRollups.AddPoints(deltas, planned.UserRef, planned.Item.Type, planned.SourceRef, planned.Item.Payload);
            }
        }

        return deltas;
    }
}

/// <summary>A stored series of a user, as the rollups need it.</summary>
internal sealed record StoredSeriesPayload(long UserRef, int Type, long SourceRef, byte[] Payload);
