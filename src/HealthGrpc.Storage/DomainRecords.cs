namespace HealthGrpc.Storage;

// Domain records the store takes and returns. Items arrive validated and normalized: canonical units, absolute
// unix-ms times, 16-byte uuids as Guid (RFC 9562 byte order: build them with new Guid(bytes, bigEndian: true); the
// store persists guid.TryWriteBytes(.., bigEndian: true)). `Index` is the item's position in the request, kept for
// the caller's bookkeeping only: the store ignores it and returns 0 for items it reads back.

/// <summary>Who recorded an item. Stored once in a deduplicated sources table. Empty strings for absent fields.</summary>
public sealed record SourceRecord(
    int Kind,
    string Name,
    string Manufacturer,
    string Model,
    string HardwareVersion,
    string SoftwareVersion,
    string AppId);

/// <summary>A client's opaque source anchor for one (type, vendor type).</summary>
public sealed record AnchorRecord(int Type, string? VendorType, byte[] Anchor);

/// <summary>A discrete sample. Exactly one of <see cref="Quantity"/> and <see cref="Category"/> is set.</summary>
public sealed record SampleRecord(
    Guid Uuid,
    int Type,
    string? VendorType,
    long StartUnixMs,
    long EndUnixMs,
    int? ZoneOffsetMinutes,
    double? Quantity,
    int? Category,
    string Unit,
    SourceRecord Source,
    string? SyncIdentifier,
    ulong SyncVersion,
    IReadOnlyDictionary<string, string>? Metadata,
    int Index = 0);

/// <summary>A high-frequency series stored as ONE item: <see cref="Payload"/> is its compact encoding (the protobuf Series bytes in canonical units).</summary>
public sealed record SeriesRecord(
    Guid Uuid,
    int Type,
    string? VendorType,
    string Unit,
    SourceRecord Source,
    long StartUnixMs,
    long EndUnixMs,
    int? ZoneOffsetMinutes,
    int PointCount,
    byte[] Payload,
    int Index = 0);

/// <summary>One chunk of a waveform, deduplicated on (user, uuid, chunk index). <see cref="Payload"/> is the caller's compact encoding of the chunk.</summary>
public sealed record WaveformRecord(
    Guid Uuid,
    uint ChunkIndex,
    uint ChunkCount,
    int Type,
    string? VendorType,
    string Unit,
    SourceRecord Source,
    long StartUnixMs,
    int? ZoneOffsetMinutes,
    double SamplingFrequencyHz,
    int Lead,
    ulong FirstSampleIndex,
    int PointCount,
    byte[] Payload,
    int Index = 0);

/// <summary>A deletion: the item with <see cref="Uuid"/> was deleted at the source at <see cref="DeletedUnixMs"/>.</summary>
public sealed record TombstoneRecord(Guid Uuid, long DeletedUnixMs, int Index = 0);

/// <summary>A versioned document, last-write-wins by <see cref="Version"/> on (user, record type, record id).</summary>
public sealed record DocumentRecord(
    string RecordType,
    string RecordId,
    ulong Version,
    bool Deleted,
    string ContentType,
    byte[] Payload,
    long ModifiedUnixMs,
    int Index = 0);

/// <summary>
/// One batch of a device, validated by the caller. <see cref="RejectedCount"/> counts the items the caller rejected
/// (they are not in the lists). When <see cref="Atomic"/> and <see cref="RejectedCount"/> &gt; 0, the store consumes
/// the batch_seq (stores the batch row and its ack), stores no item and commits no anchor.
/// <see cref="EncodeAck"/> is called inside the commit path with the final result; the bytes it returns are persisted
/// with the batch and returned byte-identical for a replayed batch_seq. It must not block and should not throw
/// (a throw fails this batch only).
/// </summary>
public sealed record IngestBatch(
    string UserId,
    string DeviceId,
    ulong Epoch,
    ulong BatchSeq,
    bool Atomic,
    IReadOnlyList<AnchorRecord> Anchors,
    IReadOnlyList<SampleRecord> Samples,
    IReadOnlyList<SeriesRecord> Series,
    IReadOnlyList<WaveformRecord> Waveforms,
    IReadOnlyList<TombstoneRecord> Deletions,
    IReadOnlyList<DocumentRecord> Records,
    int RejectedCount,
    Func<CommitResult, byte[]> EncodeAck)
{
    /// <summary>Number of items (all kinds) in the batch; used to size commit groups.</summary>
    public int ItemCount => Samples.Count + Series.Count + Waveforms.Count + Deletions.Count + Records.Count;
}

/// <summary>
/// The result of a committed batch. <see cref="Accepted"/> counts newly stored samples, series, waveform chunks,
/// tombstones and records; <see cref="Replaced"/> the items that replaced an older version (not also in Accepted).
/// </summary>
public sealed record CommitResult(
    ulong BatchSeq,
    bool RejectedAtomic,
    int Accepted,
    int Duplicates,
    int Replaced,
    int IgnoredDeleted,
    int Rejected,
    IReadOnlyList<AnchorRecord> CommittedAnchors,
    ulong HighWaterMark,
    DateTimeOffset CommitTime,
    long ChangeSequence);

/// <summary>What <see cref="IHealthStore.CommitAsync"/> did with a batch.</summary>
public abstract record CommitOutcome
{
    private protected CommitOutcome()
    {
    }

    /// <summary>The batch was applied (or consumed as atomic-rejected) and committed durably.</summary>
    public sealed record Committed(CommitResult Result, byte[] AckBytes) : CommitOutcome;

    /// <summary>
    /// batch_seq &lt;= the high-water mark: nothing applied. <see cref="OriginalAckBytes"/> are the bytes stored with
    /// that batch_seq (empty if they were ever pruned).
    /// </summary>
    public sealed record Duplicate(byte[] OriginalAckBytes, ulong HighWaterMark) : CommitOutcome;

    /// <summary>batch_seq &gt; high-water mark + 1: nothing applied.</summary>
    public sealed record SequenceGap(ulong HighWaterMark) : CommitOutcome;

    /// <summary>
    /// The batch's epoch is older than the device's newest epoch (<see cref="CurrentEpoch"/>): nothing applied.
    /// <see cref="HighWaterMark"/> is that of the batch's own (fenced) epoch, as <see cref="DeviceState"/> reports it.
    /// </summary>
    public sealed record EpochFenced(ulong CurrentEpoch, ulong HighWaterMark) : CommitOutcome;
}

/// <summary>Committed state of (user, device, epoch).</summary>
public sealed record DeviceState(ulong HighWaterMark, ulong NewestEpoch, bool Fenced);

/// <summary>A device's checkpoint: newest epoch, its high-water mark, latest anchor per (type, vendor type) over all epochs.</summary>
public sealed record DeviceCheckpoint(
    string DeviceId,
    ulong Epoch,
    ulong HighWaterMark,
    IReadOnlyList<AnchorRecord> Anchors,
    DateTimeOffset LastCommit);

/// <summary>Kind of a change-feed entry.</summary>
public enum ChangeKind
{
    /// <summary>A discrete sample was stored (<see cref="ChangeRecord.Sample"/>).</summary>
    Sample = 1,

    /// <summary>A series was stored (<see cref="ChangeRecord.Series"/>).</summary>
    Series = 2,

    /// <summary>A waveform chunk was stored (<see cref="ChangeRecord.Waveform"/>).</summary>
    Waveform = 3,

    /// <summary>A tombstone was stored (<see cref="ChangeRecord.Deletion"/>).</summary>
    Deletion = 4,

    /// <summary>A record version was stored (<see cref="ChangeRecord.Record"/>).</summary>
    Record = 5,

    /// <summary>
    /// A sample was replaced by a newer sync_version: <see cref="ChangeRecord.Uuid"/> is the OLD uuid (publish it as a
    /// deletion; <see cref="ChangeRecord.Deletion"/> carries it with the commit time). The new sample has its own
    /// <see cref="Sample"/> change.
    /// </summary>
    SampleReplaced = 6,

    /// <summary>An insight was raised, updated, closed or acknowledged (<see cref="ChangeRecord.Insight"/>; stores implementing <see cref="IInsightStore"/>).</summary>
    Insight = 7,
}

/// <summary>
/// One change-feed entry. Exactly one payload property matches <see cref="Kind"/>. The feed is compacted: a sample,
/// series or waveform later deleted (or replaced) no longer appears under its original sequence; its deletion does.
/// </summary>
public sealed record ChangeRecord(
    long Sequence,
    DateTimeOffset CommitTime,
    ChangeKind Kind,
    Guid? Uuid,
    string DeviceId,
    SampleRecord? Sample = null,
    SeriesRecord? Series = null,
    WaveformRecord? Waveform = null,
    TombstoneRecord? Deletion = null,
    DocumentRecord? Record = null,
    InsightRecord? Insight = null);

/// <summary>A page of the change feed.</summary>
public sealed record ChangePage(IReadOnlyList<ChangeRecord> Changes, bool HasMore);
