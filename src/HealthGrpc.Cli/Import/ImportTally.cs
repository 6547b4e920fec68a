using System.Collections.Concurrent;

namespace HealthGrpc.Cli.Import;

/// <summary>What happened to the items of one summary row (a HealthKit identifier or an element kind). Thread-safe.</summary>
internal sealed class RowTally
{
    private long _read, _alreadyImported, _sent, _stored, _duplicates;

    public long Read => Interlocked.Read(ref _read);

    /// <summary>Read but not sent again: before this type's committed anchor (an earlier run delivered it).</summary>
    public long AlreadyImported => Interlocked.Read(ref _alreadyImported);

    /// <summary>Handed to the SDK's durable queue in this run.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Acked as stored by the server in this run (also for batches an interrupted run had queued).</summary>
    public long Stored => Interlocked.Read(ref _stored);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public ConcurrentDictionary<string, long> Rejected { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> Unsupported { get; } = new(StringComparer.Ordinal);

    public void AddRead(long n = 1) => Interlocked.Add(ref _read, n);

    public void AddAlreadyImported() => Interlocked.Increment(ref _alreadyImported);

    public void AddSent(long n) => Interlocked.Add(ref _sent, n);

    public void AddStored(long n) => Interlocked.Add(ref _stored, n);

    public void AddDuplicates(long n) => Interlocked.Add(ref _duplicates, n);

    public void AddRejected(string reason, long n = 1) => Rejected.AddOrUpdate(reason, n, (_, v) => v + n);

    public void AddUnsupported(string reason, long n = 1) => Unsupported.AddOrUpdate(reason, n, (_, v) => v + n);
}

/// <summary>The import's summary by row: nothing read is left out of it.</summary>
internal sealed class ImportTally
{
    /// <summary>Row of acks for batches whose type the import cannot tell (split by the SDK under a server's lower limits).</summary>
    public const string Unattributed = "(unattributed batch)";

    private readonly ConcurrentDictionary<string, RowTally> _rows = new(StringComparer.Ordinal);

    public RowTally this[string row] => _rows.GetOrAdd(row, _ => new RowTally());

    public IEnumerable<KeyValuePair<string, RowTally>> Rows => _rows.OrderBy(r => r.Key, StringComparer.Ordinal);

    /// <summary>Records and workouts read (supported or not), over all rows.</summary>
    public long TotalRead => _rows.Values.Sum(r => r.Read);

    /// <summary>An item that is read and not sent, with why (a type the server does not know, a kind the SDK cannot send).</summary>
    public void Unsupported(string row, string reason, long n = 1)
    {
        var tally = this[row];
        tally.AddRead(n);
        tally.AddUnsupported(reason, n);
    }
}
