using BenchmarkDotNet.Attributes;
using HealthGrpc.Benchmarks.Data;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;

namespace HealthGrpc.Benchmarks.Storage;

/// <summary>
/// Store insert paths, one operation = 1,000 normalized heart-rate rows committed durably (WAL, synchronous=FULL):
/// SqliteHealthStore.CommitAsync (device/sequence checks, dedup, group-commit thread, ack persisted) vs
/// RawInsertBaseline.InsertSamples (one prepared INSERT, one transaction; it also opens a connection and checks the
/// schema on every call). Each operation gets fresh rows (IterationSetup, one invocation per iteration), so nothing
/// is a duplicate. fsync dominates: few iterations, and read the ratio, not the absolute time.
/// </summary>
[MemoryDiagnoser]
[WarmupCount(3)]
[IterationCount(15)]
public class StoreInsertBenchmarks
{
    private const string UserId = "bench-user";
    private readonly SourceRecord _source = HeartRateData.WatchSourceRecord();
    private string _directory = null!;
    private string _rawPath = null!;
    private SqliteHealthStore _store = null!;
    private ulong _batchSeq;
    private long _nextStartMs;
    private IngestBatch _nextBatch = null!;
    private SampleRecord[] _nextRows = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("healthgrpc-bench-").FullName;
        _rawPath = Path.Combine(_directory, "raw.db");
        _store = SqliteHealthStore.OpenAsync(Path.Combine(_directory, "store.db")).GetAwaiter().GetResult();
        _store.CreateUserAsync(UserId, CancellationToken.None).GetAwaiter().GetResult();
        _nextStartMs = HeartRateData.BaseUnixMs;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [IterationSetup(Target = nameof(Store_CommitAsync))]
    public void NextStoreBatch()
    {
        var rows = NextRows();
        _nextBatch = new IngestBatch(UserId, "bench-watch", 1, ++_batchSeq, false, [], rows, [], [], [], [], 0, static _ => []);
    }

    [IterationSetup(Target = nameof(Raw_InsertBaseline))]
    public void NextRawRows() => _nextRows = NextRows();

    [Benchmark]
    public async Task<int> Store_CommitAsync()
    {
        var outcome = await _store.CommitAsync(_nextBatch, CancellationToken.None);
        return outcome is CommitOutcome.Committed { Result.Accepted: 1_000 } committed
            ? committed.Result.Accepted
            : throw new InvalidOperationException($"unexpected outcome {outcome}");
    }

    [Benchmark(Baseline = true)]
    public TimeSpan Raw_InsertBaseline() => RawInsertBaseline.InsertSamples(_rawPath, UserId, _nextRows, rowsPerTransaction: 1_000);

    private SampleRecord[] NextRows()
    {
        var rows = HeartRateData.SampleRecords(HeartRateData.BatchSamples, _nextStartMs, _source);
        _nextStartMs += HeartRateData.BatchSamples * 1_000L;
        return rows;
    }
}
