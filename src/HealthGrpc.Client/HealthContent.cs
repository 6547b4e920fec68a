using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>
/// Everything one enqueue can carry: discrete samples, packed series (1 Hz heart rate, RR intervals; see
/// <see cref="SeriesEncoder"/>), waveform chunks (ECG; see <see cref="WaveformEncoder"/>), deletions and versioned
/// records. Stored durably in one transaction by <see cref="HealthSyncClient.EnqueueContentAsync"/>.
/// </summary>
public sealed class HealthContent
{
    /// <summary>Discrete samples, grouped by type, source and unit.</summary>
    public IList<SampleSet> SampleSets { get; } = [];

    /// <summary>High-frequency series, each one item with its own uuid.</summary>
    public IList<Series> Series { get; } = [];

    /// <summary>Waveform chunks (all chunks of a recording share its uuid).</summary>
    public IList<Waveform> Waveforms { get; } = [];

    /// <summary>Deletions of samples, series or waveforms by uuid.</summary>
    public IList<Deletion> Deletions { get; } = [];

    /// <summary>
    /// Versioned records (last-write-wins by version on the server). Prefer <see cref="HealthSyncClient.SaveRecordAsync"/>,
    /// which assigns a version that never goes backwards for the same record id.
    /// </summary>
    public IList<Record> Records { get; } = [];

    /// <summary>Appends what a source returned.</summary>
    internal void Add(SourceChanges changes)
    {
        AddAll(SampleSets, changes.SampleSets);
        AddAll(Series, changes.Series);
        AddAll(Waveforms, changes.Waveforms);
        AddAll(Deletions, changes.Deletions);
        AddAll(Records, changes.Records);
    }

    /// <summary>The data types the content carries (records and deletions have none).</summary>
    internal IEnumerable<DataType> Types() =>
        SampleSets.Select(s => s.Type).Concat(Series.Select(s => s.Type)).Concat(Waveforms.Select(w => w.Type));

    private static void AddAll<T>(IList<T> target, IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            target.Add(item);
        }
    }

    /// <summary>Items as the queue counts them: samples, series, waveform chunks, deletions and records.</summary>
    public int ItemCount
    {
        get
        {
            var n = Series.Count + Waveforms.Count + Deletions.Count + Records.Count;
            foreach (var set in SampleSets)
            {
                n += set.Samples.Count;
            }

            return n;
        }
    }
}
