namespace HealthGrpc.Storage.Postgres;

/// <summary>A device of a user (the device row is created by the first applied batch, so it has no id before).</summary>
internal readonly record struct DeviceKey(long UserRef, string DeviceId);

/// <summary>A stored device with the high-water mark of each of its epochs.</summary>
internal sealed record StoredDevice(long Id, ulong NewestEpoch, Dictionary<ulong, ulong> HighWaterMarks);

/// <summary>What the planner needs of a stored sample: its rollup bucket and its sync identity.</summary>
internal sealed record StoredSample(int Type, long StartMs, long SourceRef, bool HasQuantity, string? SyncId, ulong SyncVersion);

/// <summary>
/// The committed state the group's items touch, read inside the group's transaction after the users' rows were locked
/// (every writer of those users, on any instance, waits for the locks, so this state cannot change until COMMIT).
/// </summary>
internal sealed class StoredState
{
    /// <summary>The database clock at lock time: every batch of the group commits at this time.</summary>
    public long CommitMs { get; set; }

    /// <summary>The locked users' change counters.</summary>
    public Dictionary<long, long> ChangeSequences { get; } = [];

    public Dictionary<DeviceKey, StoredDevice> Devices { get; } = [];

    /// <summary>Stored samples with the uuids or sync identifiers of the group's samples and deletions.</summary>
    public Dictionary<(long UserRef, Guid Uuid), StoredSample> Samples { get; } = [];

    public HashSet<(long UserRef, Guid Uuid)> Tombstones { get; } = [];

    public HashSet<(long UserRef, Guid Uuid)> Series { get; } = [];

    /// <summary>Stored chunk indexes per waveform uuid.</summary>
    public Dictionary<(long UserRef, Guid Uuid), HashSet<uint>> WaveformChunks { get; } = [];

    public Dictionary<(long UserRef, string RecordType, string RecordId), ulong> RecordVersions { get; } = [];

    /// <summary>Per type, the time before which retention purged raw items (read after the locks: a purge holds them too).</summary>
    public Dictionary<int, long> RetentionHorizons { get; } = [];

    /// <summary>True when an item of <paramref name="type"/> starting at <paramref name="startMs"/> lies in a purged range (not stored again).</summary>
    public bool IsPurged(int type, long startMs) => RetentionHorizons.TryGetValue(type, out var before) && startMs < before;
}
