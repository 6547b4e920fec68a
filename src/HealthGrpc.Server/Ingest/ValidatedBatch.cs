using HealthGrpc.Storage;

namespace HealthGrpc.Server.Ingest;

/// <summary>The normalized, valid items of a batch and the rejection of every invalid one.</summary>
internal sealed class ValidatedBatch
{
    public List<SampleRecord> Samples { get; } = [];

    public List<SeriesRecord> Series { get; } = [];

    public List<WaveformRecord> Waveforms { get; } = [];

    public List<TombstoneRecord> Deletions { get; } = [];

    public List<DocumentRecord> Records { get; } = [];

    public List<AnchorRecord> Anchors { get; } = [];

    public List<ItemRejection> Rejections { get; } = [];
}
