namespace HealthGrpc.Storage;

/// <summary>Kinds of stored items a range read returns, in the order they sort at an equal start time.</summary>
public enum SampleItemKind
{
    /// <summary>A discrete sample (<see cref="SampleReadItem.Sample"/>).</summary>
    Sample = 0,

    /// <summary>A series (<see cref="SampleReadItem.Series"/>).</summary>
    Series = 1,

    /// <summary>A waveform chunk (<see cref="SampleReadItem.Waveform"/>).</summary>
    Waveform = 2,
}

/// <summary>
/// Where an item sorts in a range read: by start, then kind, then uuid (16-byte big-endian order), then chunk index.
/// The order is total, so "everything after this position" is exact whatever was inserted meanwhile.
/// </summary>
public readonly record struct SampleReadPosition(long StartUnixMs, SampleItemKind Kind, Guid Uuid, uint ChunkIndex);

/// <summary>
/// A page of a user's samples, series and waveform chunks of <see cref="Types"/> overlapping
/// [<see cref="FromUnixMs"/>, <see cref="ToUnixMs"/>). An item overlaps when it starts before the end and ends after the
/// start (an instantaneous item: starts in the range); discrete samples that start before the range are found only when
/// they start at most <see cref="LookbackMs"/> before it (the time index is on the start). <see cref="SourceKinds"/>
/// empty: every source. <see cref="SnapshotSequence"/> null: the first page, the store pins the user's current change
/// sequence; later pages pass the page's <see cref="SampleReadPage.SnapshotSequence"/> back so items committed after
/// the first page never shift a page boundary. <see cref="After"/>: the position of the previous page's last item.
/// </summary>
public sealed record SampleQuery(
    string UserId,
    IReadOnlyList<int> Types,
    IReadOnlyList<int> SourceKinds,
    long FromUnixMs,
    long ToUnixMs,
    long LookbackMs,
    long? SnapshotSequence,
    SampleReadPosition? After,
    int Limit);

/// <summary>One item of a range read: exactly one of the payloads matches <see cref="SampleReadPosition.Kind"/>.</summary>
public sealed record SampleReadItem(
    SampleReadPosition Position,
    string DeviceId,
    SampleRecord? Sample = null,
    SeriesRecord? Series = null,
    WaveformRecord? Waveform = null);

/// <summary>A page of a range read, in position order; <see cref="HasMore"/> when items follow the last one.</summary>
public sealed record SampleReadPage(IReadOnlyList<SampleReadItem> Items, bool HasMore, long SnapshotSequence);
