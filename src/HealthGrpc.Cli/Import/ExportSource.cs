using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Client;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Import;

/// <summary>
/// An export as an anchored <see cref="ISampleSource"/> for the SDK. A type's anchor is a position in the export (the ordinal
/// of Records and Workouts, 8 bytes): every sample of that type before it has been handed to the SDK, which commits the anchor
/// when the server acked the batch carrying it. So an interrupted import resumes where each type stopped, and a finished one
/// sends nothing again. The file is read once, front to back: samples wait in per-type buffers (at most
/// <see cref="BufferedSamples"/> in all), and each answer carries one type only (the type with the most samples waiting), so
/// every batch is of one type and its ack counts land on that type's summary row. An HRV record's beat series waits with its
/// record's type (the same anchor covers both) but travels in answers of its own, never with samples: its acks land on the
/// beats' row (<see cref="BeatSeries.Row"/>), not on the HRV row.
/// </summary>
internal sealed class ExportSource : ISampleSource, IDisposable
{
    /// <summary>Samples held in memory at most, over all types: the bound of the import's memory, whatever the export's size.</summary>
    public const int BufferedSamples = 30_000;

    /// <summary>
    /// Encoded bytes of one answer at most: half the server's default max_message_bytes (4 MiB), so the SDK never has to
    /// split a batch at send time (its parts would get local ids this import cannot attribute to a type).
    /// </summary>
    private const int MaxAnswerBytes = 2 * 1024 * 1024;

    private static readonly DataType[] OrderedTypes = [.. HealthKitTypes.DataTypes];
    private readonly ExportReader _reader;
    private readonly IEnumerator<ExportEntry> _entries;
    private readonly ExportMapper _mapper;
    private readonly ImportTally _tally;
    private readonly Func<CancellationToken, ValueTask> _waitForRoom;
    private readonly Dictionary<DataType, Lane> _buffers = [];
    private readonly Dictionary<DataType, long> _askedAnchors = [];
    private int _buffered;
    private long _frontier;
    private bool _endOfExport;
    private DataType? _current;
    private int _lastAskedIndex = int.MaxValue;
    private bool _answeredThisRound;

    /// <param name="reader">The export, not read yet.</param>
    /// <param name="tally">Where every entry's fate is counted.</param>
    /// <param name="waitForRoom">Awaited before each answer with samples: keeps the SDK's durable queue bounded (backpressure).</param>
    public ExportSource(ExportReader reader, ImportTally tally, Func<CancellationToken, ValueTask> waitForRoom)
    {
        _reader = reader;
        _entries = reader.Entries().GetEnumerator();
        _mapper = new ExportMapper(tally);
        _tally = tally;
        _waitForRoom = waitForRoom;
        foreach (var type in Types)
        {
            _buffers[type] = new Lane();
        }
    }

    public string Name => "apple-health-export";

    public IReadOnlyCollection<DataType> Types => OrderedTypes;

    /// <summary>
    /// The summary row of the last answer that carried items: a type's, or the beats' row. A collect round has at most one
    /// such answer, and the SDK enqueues the round right after it, so the batches it then reports as queued (with items) are of this row.
    /// </summary>
    public string? LastAnswered { get; private set; }

    /// <summary>Read to its end, nothing waiting, and every type's anchor enqueued at the end of the export.</summary>
    public bool Finished => _endOfExport && _buffered == 0 && Types.All(t => _askedAnchors.GetValueOrDefault(t, -1) == _frontier);

    public async ValueTask<SourceChanges> GetChangesAsync(DataType type, ByteString anchor, int maxSamples, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(anchor);
        var position = Decode(anchor);
        if (position < _askedAnchors.GetValueOrDefault(type, 0))
        {
            // The SDK's read anchor only moves forward within a run; a step back would need a second pass (not built).
            throw new InvalidOperationException($"the SDK asked for {type} from position {position}, before {_askedAnchors[type]}: run the import again to resume.");
        }

        _askedAnchors[type] = position;
        // The SDK asks the types of a collect round in the order of Types: asking an earlier one again starts a new round.
        var index = Array.IndexOf(OrderedTypes, type);
        if (index <= _lastAskedIndex)
        {
            _answeredThisRound = false;
        }

        _lastAskedIndex = index;
        var buffer = _buffers[type];
        _buffered -= buffer.DropBefore(position, _tally);

        Fill();
        // The type whose turn it is keeps it until its buffer is empty, so consecutive rounds send full batches of it.
        var current = _current is { } turn && _buffers[turn].Count > 0 ? turn : Fullest();
        _current = current;

        if (buffer.Count == 0 || current != type || _answeredThisRound)
        {
            // Nothing of this type waits (or another type's turn): at the export's end, the anchor still moves to the end.
            var end = _endOfExport && buffer.Count == 0 && position < _frontier;
            return new SourceChanges([], [], end ? Encode(_frontier) : anchor, HasMore: !end || _buffered > 0);
        }

        await _waitForRoom(cancellationToken).ConfigureAwait(false);
        var changes = buffer.TakeSeriesFirst()
            ? TakeSeries(buffer.Beats, Math.Max(1, maxSamples), out var taken, out var row)
            : TakeSamples(buffer.Samples, Math.Max(1, maxSamples), out taken, out row);
        _buffered -= taken;
        _tally[row].AddSent(taken);
        LastAnswered = row;
        _answeredThisRound = true;
        // Items of the other kind may wait before where this answer stopped: the anchor stops at the first one still waiting.
        return changes with { NewAnchor = Encode(buffer.FirstOrdinal ?? _frontier), HasMore = !_endOfExport || _buffered > 0 };
    }

    /// <summary>Not supported: an export has no "recent window" worth re-reading (the import re-reads from its anchors).</summary>
    public ValueTask<IReadOnlyList<SampleSet>> ReadRangeAsync(DataType type, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<SampleSet>>([]);

    public void Dispose()
    {
        _entries.Dispose();
        _reader.Dispose();
    }

    private static ByteString Encode(long position)
    {
        var bytes = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, position);
        return ByteString.CopyFrom(bytes);
    }

    private static long Decode(ByteString anchor) => anchor.Length == sizeof(long) ? BinaryPrimitives.ReadInt64BigEndian(anchor.Span) : 0;

    /// <summary>Reads on until the buffers are full or the export ends; samples before their type's anchor were delivered by an earlier run.</summary>
    private void Fill()
    {
        while (_buffered < BufferedSamples && !_endOfExport)
        {
            if (!_entries.MoveNext())
            {
                _endOfExport = true;
                return;
            }

            var entry = _entries.Current;
            _frontier = entry.Ordinal + 1;
            var (sample, beats) = _mapper.Map(entry);
            if (sample is not null)
            {
                _buffered += _buffers[sample.Type].Add(sample, _askedAnchors.GetValueOrDefault(sample.Type, 0), _tally);
            }

            if (beats is not null)
            {
                _buffered += _buffers[beats.Type].Add(beats, _askedAnchors.GetValueOrDefault(beats.Type, 0), _tally);
            }
        }
    }

    private DataType? Fullest()
    {
        DataType? best = null;
        var most = 0;
        foreach (var (type, queue) in _buffers)
        {
            if (queue.Count > most)
            {
                (best, most) = (type, queue.Count);
            }
        }

        return best;
    }

    /// <summary>Up to <paramref name="max"/> beat series parts (each an item), within the answer's byte bound.</summary>
    private static SourceChanges TakeSeries(Queue<PendingSeries> buffer, int max, out int taken, out string row)
    {
        var parts = new List<Series>();
        taken = 0;
        long bytes = 0;
        while (parts.Count < max && bytes < MaxAnswerBytes && buffer.TryDequeue(out var next))
        {
            parts.AddRange(next.Parts);
            bytes += next.Parts.Sum(part => part.CalculateSize() + 4);
            taken++;
        }

        row = BeatSeries.Row;
        return new SourceChanges([], [], ByteString.Empty, HasMore: false) { Series = parts };
    }

    /// <summary>Up to <paramref name="max"/> samples as sets: consecutive samples with the same unit, source and zone share one.</summary>
    private static SourceChanges TakeSamples(Queue<PendingSample> buffer, int max, out int taken, out string row)
    {
        var sets = new List<SampleSet>();
        SampleSet? set = null;
        PendingSample? head = null;
        taken = 0;
        long bytes = 0;
        while (taken < max && bytes < MaxAnswerBytes && buffer.TryDequeue(out var next))
        {
            if (set is null || head is null || next.Unit != head.Unit || !ReferenceEquals(next.Source, head.Source) || next.ZoneOffsetMinutes != head.ZoneOffsetMinutes)
            {
                head = next;
                set = new SampleSet
                {
                    Type = next.Type,
                    Unit = next.Unit,
                    Source = next.Source,
                    BaseTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(next.StartUnixMs)),
                    ZoneOffsetMinutes = next.ZoneOffsetMinutes,
                };
                sets.Add(set);
            }

            next.Sample.StartOffsetMs = next.StartUnixMs - head.StartUnixMs;
            set.Samples.Add(next.Sample);
            bytes += next.Sample.CalculateSize() + 4;
            taken++;
        }

        row = HealthKitTypes.NameOf(sets[0].Type);
        return new SourceChanges(sets, [], ByteString.Empty, HasMore: false);
    }

    /// <summary>What waits for one type's anchor: its samples, and the beat series of its records (HRV only), each in export order.</summary>
    private sealed class Lane
    {
        public Queue<PendingSample> Samples { get; } = new();

        public Queue<PendingSeries> Beats { get; } = new();

        public int Count => Samples.Count + Beats.Count;

        /// <summary>The ordinal of the first entry with an item still waiting, null when none waits.</summary>
        public long? FirstOrdinal =>
            Samples.TryPeek(out var sample) && (!Beats.TryPeek(out var first) || sample.Ordinal <= first.Ordinal) ? sample.Ordinal
            : Beats.TryPeek(out var beats) ? beats.Ordinal : null;

        /// <summary>Series first when the first waiting item is one: the anchor then moves as far as it can.</summary>
        public bool TakeSeriesFirst() => Beats.TryPeek(out var beats) && (!Samples.TryPeek(out var sample) || beats.Ordinal < sample.Ordinal);

        /// <summary>Queues an item, or counts it as already imported when before the type's anchor; 1 when queued.</summary>
        public int Add(PendingSample sample, long anchor, ImportTally tally) => Keep(sample.Ordinal, anchor, HealthKitTypes.NameOf(sample.Type), tally, () => Samples.Enqueue(sample));

        public int Add(PendingSeries series, long anchor, ImportTally tally) => Keep(series.Ordinal, anchor, BeatSeries.Row, tally, () => Beats.Enqueue(series));

        /// <summary>Drops what an earlier run delivered (before <paramref name="position"/>); how many were dropped.</summary>
        public int DropBefore(long position, ImportTally tally)
        {
            var dropped = 0;
            for (; Samples.TryPeek(out var sample) && sample.Ordinal < position; dropped++)
            {
                tally[HealthKitTypes.NameOf(Samples.Dequeue().Type)].AddAlreadyImported();
            }

            for (; Beats.TryPeek(out var series) && series.Ordinal < position; dropped++)
            {
                Beats.Dequeue();
                tally[BeatSeries.Row].AddAlreadyImported();
            }

            return dropped;
        }

        private static int Keep(long ordinal, long anchor, string row, ImportTally tally, Action enqueue)
        {
            if (ordinal < anchor)
            {
                tally[row].AddAlreadyImported();
                return 0;
            }

            enqueue();
            return 1;
        }
    }
}
