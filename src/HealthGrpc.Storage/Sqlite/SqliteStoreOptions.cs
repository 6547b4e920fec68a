namespace HealthGrpc.Storage.Sqlite;

/// <summary>Options of <see cref="SqliteHealthStore"/>.</summary>
public sealed record SqliteStoreOptions
{
    /// <summary>Group commit tuning.</summary>
    public GroupCommitOptions GroupCommit { get; init; } = new();

    /// <summary>How long a connection waits for a lock held by another connection (SQLite busy timeout).</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>SQLite page cache of the writer connection, in KiB (negative cache_size).</summary>
    public int WriterCacheKiB { get; init; } = 64 * 1024;
}
