using Google.Protobuf;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>
/// An anchored pull source: a HealthKit anchored object query, a Health Connect changes token, a vendor cursor.
/// The SDK asks for the changes of one data type after an opaque anchor and stores the returned anchor with the
/// batch that carries those changes; the anchor is committed locally only when the server acks that batch.
/// </summary>
public interface ISampleSource
{
    /// <summary>A stable name of the source (used in logs and events).</summary>
    string Name { get; }

    /// <summary>The data types this source can be queried for.</summary>
    IReadOnlyCollection<DataType> Types { get; }

    /// <summary>
    /// Changes of <paramref name="type"/> after <paramref name="anchor"/> (<see cref="ByteString.Empty"/> = from the
    /// beginning), at most about <paramref name="maxSamples"/> samples. Must be deterministic for a given anchor and
    /// must not move any state of the source: the SDK decides when the new anchor is committed.
    /// </summary>
    ValueTask<SourceChanges> GetChangesAsync(DataType type, ByteString anchor, int maxSamples, CancellationToken cancellationToken);

    /// <summary>
    /// Every sample of <paramref name="type"/> whose start is in [<paramref name="from"/>, <paramref name="to"/>), for the
    /// tier-3 catch-up re-read (the server deduplicates by uuid, so re-sending is harmless).
    /// </summary>
    ValueTask<IReadOnlyList<SampleSet>> ReadRangeAsync(DataType type, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);
}

/// <summary>The answer of <see cref="ISampleSource.GetChangesAsync"/>.</summary>
/// <param name="SampleSets">New or changed samples, grouped by source and unit.</param>
/// <param name="Deletions">Samples deleted at the source since the anchor.</param>
/// <param name="NewAnchor">The anchor after these changes (opaque, at most 4 KiB).</param>
/// <param name="HasMore">More changes are available after <paramref name="NewAnchor"/>.</param>
public sealed record SourceChanges(IReadOnlyList<SampleSet> SampleSets, IReadOnlyList<Deletion> Deletions, ByteString NewAnchor, bool HasMore)
{
    /// <summary>New packed series (see <see cref="SeriesEncoder"/>); each counts as one item against <c>maxSamples</c>.</summary>
    public IReadOnlyList<Series> Series { get; init; } = [];

    /// <summary>New waveform chunks (see <see cref="WaveformEncoder"/>); each counts as one item.</summary>
    public IReadOnlyList<Waveform> Waveforms { get; init; } = [];

    /// <summary>New record versions (last-write-wins by version on the server); each counts as one item.</summary>
    public IReadOnlyList<Record> Records { get; init; } = [];

    /// <summary>All items: samples, series, waveform chunks, deletions and records.</summary>
    public int ItemCount => SampleCount + Series.Count + Waveforms.Count + Deletions.Count + Records.Count;

    /// <summary>Number of samples in <see cref="SampleSets"/>.</summary>
    public int SampleCount
    {
        get
        {
            var n = 0;
            foreach (var set in SampleSets)
            {
                n += set.Samples.Count;
            }

            return n;
        }
    }
}

/// <summary>
/// A deterministic in-memory source for tests, demos and benchmarks. Per type it holds an append-only log of samples
/// (1 reading per <see cref="Interval"/>, stable uuids derived from the seed, type and index) and deletions; the anchor is
/// the 8-byte little-endian position in the log. Thread-safe.
/// </summary>
public sealed class SimulatedSource : ISampleSource
{
    private readonly Lock _lock = new();
    private readonly Dictionary<DataType, List<Entry>> _logs = [];
    private readonly int _seed;
    private readonly Source _device;

    /// <summary>Creates an empty simulated source for <paramref name="types"/>.</summary>
    /// <param name="types">The data types it produces.</param>
    /// <param name="start">Start time of the first sample of each type.</param>
    /// <param name="seed">Seed of the uuids and values (two sources with the same seed produce the same samples).</param>
    /// <param name="name">Source name.</param>
    public SimulatedSource(IEnumerable<DataType> types, DateTimeOffset start, int seed = 1, string name = "simulated")
    {
        ArgumentNullException.ThrowIfNull(types);
        Name = name;
        Start = start;
        _seed = seed;
        foreach (var type in types)
        {
            _logs[type] = [];
        }

        Types = [.. _logs.Keys];
        _device = new Source { Kind = DeviceKind.Watch, Name = name, Manufacturer = "HealthGrpc", Model = "Simulator", AppId = "dev.healthgrpc.simulated" };
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<DataType> Types { get; }

    /// <summary>Start time of the first sample of each type.</summary>
    public DateTimeOffset Start { get; }

    /// <summary>Time between two samples of a type. Default 1 s.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Samples generated so far for <paramref name="type"/> (deletions not counted).</summary>
    public int SampleCount(DataType type)
    {
        lock (_lock)
        {
            var n = 0;
            foreach (var e in _logs[type])
            {
                n += e.IsDeletion ? 0 : 1;
            }

            return n;
        }
    }

    /// <summary>Appends <paramref name="count"/> new samples of <paramref name="type"/> and returns their uuids.</summary>
    public IReadOnlyList<Guid> Append(DataType type, int count)
    {
        lock (_lock)
        {
            var log = _logs[type];
            var result = new List<Guid>(count);
            var index = SampleIndex(log);
            for (var i = 0; i < count; i++, index++)
            {
                var uuid = UuidFor(type, index);
                log.Add(new Entry(uuid, index, false));
                result.Add(uuid);
            }

            return result;
        }
    }

    /// <summary>Records a deletion of the sample with <paramref name="uuid"/>.</summary>
    public void Delete(DataType type, Guid uuid)
    {
        lock (_lock)
        {
            _logs[type].Add(new Entry(uuid, -1, true));
        }
    }

    /// <summary>The anchor after everything currently in the log of <paramref name="type"/>.</summary>
    public ByteString LatestAnchor(DataType type)
    {
        lock (_lock)
        {
            return EncodeAnchor(_logs[type].Count);
        }
    }

    /// <summary>The uuid of the sample at <paramref name="index"/> of <paramref name="type"/>.</summary>
    public Guid UuidFor(DataType type, long index)
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, _seed);
        bytes[4] = (byte)type;
        bytes[6] = 0x80; // version 8 (custom)
        bytes[8] = 0x80; // RFC 9562 variant
        Span<byte> position = stackalloc byte[8];
        BitConverter.TryWriteBytes(position, index);
        position[..7].CopyTo(bytes[9..]);
        return new Guid(bytes, bigEndian: true);
    }

    /// <inheritdoc />
    public ValueTask<SourceChanges> GetChangesAsync(DataType type, ByteString anchor, int maxSamples, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(anchor);
        lock (_lock)
        {
            var log = _logs[type];
            var position = DecodeAnchor(anchor);
            var end = (int)Math.Min(log.Count, position + Math.Max(1, maxSamples));
            var set = NewSet(type);
            var deletions = new List<Deletion>();
            for (var i = (int)position; i < end; i++)
            {
                var e = log[i];
                if (e.IsDeletion)
                {
                    deletions.Add(new Deletion { Uuid = Contracts.SampleUuid.ToByteString(e.Uuid) });
                }
                else
                {
                    set.Samples.Add(MakeSample(type, e));
                }
            }

            IReadOnlyList<SampleSet> sets = set.Samples.Count > 0 ? [set] : [];
            return ValueTask.FromResult(new SourceChanges(sets, deletions, EncodeAnchor(end), end < log.Count));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SampleSet>> ReadRangeAsync(DataType type, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var deleted = new HashSet<Guid>();
            foreach (var e in _logs[type])
            {
                if (e.IsDeletion)
                {
                    deleted.Add(e.Uuid);
                }
            }

            var set = NewSet(type);
            foreach (var e in _logs[type])
            {
                if (e.IsDeletion || deleted.Contains(e.Uuid))
                {
                    continue;
                }

                var t = Start + (Interval * e.Index);
                if (t >= from && t < to)
                {
                    set.Samples.Add(MakeSample(type, e));
                }
            }

            IReadOnlyList<SampleSet> sets = set.Samples.Count > 0 ? [set] : [];
            return ValueTask.FromResult(sets);
        }
    }

    private SampleSet NewSet(DataType type) => new()
    {
        Type = type,
        Source = _device,
        BaseTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Start),
        ZoneOffsetMinutes = 0,
    };

    private Sample MakeSample(DataType type, Entry e)
    {
        var sample = new Sample
        {
            Uuid = Contracts.SampleUuid.ToByteString(e.Uuid),
            StartOffsetMs = (long)(Interval.TotalMilliseconds * e.Index),
        };
        var wiggle = (int)((e.Index * 7 + _seed) % 21) - 10;
        switch (type)
        {
            case DataType.SleepAnalysis:
                sample.Category = (int)SleepStage.Light;
                sample.DurationMs = (ulong)Interval.TotalMilliseconds;
                break;
            case DataType.Ecg:
                sample.Category = (int)EcgClassification.SinusRhythm;
                break;
            case DataType.Steps:
                sample.ScaledValue = 10 + wiggle + 10;
                sample.DurationMs = (ulong)Interval.TotalMilliseconds;
                break;
            case DataType.HeartRateVariabilitySdnn:
                sample.ScaledValue = 45 + wiggle;
                break;
            default:
                sample.ScaledValue = 70 + wiggle;
                break;
        }

        return sample;
    }

    private static long SampleIndex(List<Entry> log)
    {
        for (var i = log.Count - 1; i >= 0; i--)
        {
            if (!log[i].IsDeletion)
            {
                return log[i].Index + 1;
            }
        }

        return 0;
    }

    private static ByteString EncodeAnchor(long position) => ByteString.CopyFrom(BitConverter.GetBytes(position));

    private static long DecodeAnchor(ByteString anchor) => anchor.Length == 8 ? BitConverter.ToInt64(anchor.Span) : 0;

    private readonly record struct Entry(Guid Uuid, long Index, bool IsDeletion);
}
