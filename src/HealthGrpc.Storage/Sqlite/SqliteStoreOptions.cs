namespace HealthGrpc.Storage.Sqlite;

/// <summary>Options of <see cref="SqliteHealthStore"/>.</summary>
public sealed record SqliteStoreOptions
{
    /// <summary>Group commit tuning.</summary>
    public GroupCommitOptions GroupCommit { get; init; } = new();

    /// <summary>How long a connection waits for a lock held by another connection (SQLite busy timeout).</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// SQLite page cache of the writer connection, in KiB (negative cache_size). 32 MiB: the pages a group commit touches
    /// in the dedup index are spread over an index far larger than either 32 or 64 MiB once a table holds millions of
    /// rows, so a miss mostly costs a copy from the OS page cache, not a disk read; 1,000 steady-1hz streams ran at the
    /// same ingest / storage-limit ratio with 32 MiB and peaked 34 MiB lower (bench/README.md).
    /// </summary>
    public int WriterCacheKiB { get; init; } = 32 * 1024;
}
