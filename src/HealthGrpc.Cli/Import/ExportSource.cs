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
/// every batch is of one type and its ack counts land on that type's summary row.
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
    private readonly Dictionary<DataType, Queue<PendingSample>> _buffers = [];
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
            _buffers[type] = new Queue<PendingSample>();
        }
    }

    public string Name => "apple-health-export";

    public IReadOnlyCollection<DataType> Types => OrderedTypes;

    /// <summary>
    /// The type of the last answer that carried samples. A collect round has at most one such answer, and the SDK enqueues
    /// the round right after it, so the batches it then reports as queued (with items) are of this type.
    /// </summary>
    public DataType? LastAnswered { get; private set; }

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
        while (buffer.Count > 0 && buffer.Peek().Ordinal < position)
        {
            Drop(buffer.Dequeue());
            _buffered--;
        }

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
        var sets = Take(buffer, Math.Max(1, maxSamples), out var taken);
        _buffered -= taken;
        _tally[HealthKitTypes.NameOf(type)].AddSent(taken);
        LastAnswered = type;
        _answeredThisRound = true;
        var next = buffer.Count > 0 ? buffer.Peek().Ordinal : _frontier;
        return new SourceChanges(sets, [], Encode(next), HasMore: !_endOfExport || _buffered > 0);
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
            if (_mapper.Map(entry) is not { } sample)
            {
                continue;
            }

            if (sample.Ordinal < _askedAnchors.GetValueOrDefault(sample.Type, 0))
            {
                Drop(sample);
                continue;
            }

            _buffers[sample.Type].Enqueue(sample);
            _buffered++;
        }
    }

    private void Drop(PendingSample sample) => _tally[HealthKitTypes.NameOf(sample.Type)].AddAlreadyImported();

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

    /// <summary>Up to <paramref name="max"/> samples as sets: consecutive samples with the same unit, source and zone share one.</summary>
    private static List<SampleSet> Take(Queue<PendingSample> buffer, int max, out int taken)
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

        return sets;
    }
}
