namespace HealthGrpc.Storage.Postgres;

/// <summary>Options of <see cref="PostgresHealthStore"/>.</summary>
public sealed record PostgresStoreOptions
{
    /// <summary>Group commit tuning (per server instance: each instance's writer groups its own callers' batches).</summary>
    public GroupCommitOptions GroupCommit { get; init; } = new();

    /// <summary>
    /// The most connections this instance opens (Npgsql Max Pool Size; a Max Pool Size in the connection string wins).
    /// Two are held for the writer and the change listener; the rest serve reads and account writes.
    /// </summary>
    public int MaxPoolSize { get; init; } = 20;

    /// <summary>
    /// How long a caller waits for a connection when the pool is exhausted (or for a new connection to open) before
    /// the store answers <see cref="HealthStoreUnavailableException"/>, never a hang.
    /// </summary>
    public TimeSpan ConnectionTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest one statement may run before it is cancelled (a stuck database shows as unavailable).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Open even when the server's synchronous_commit is off (an acked batch could then be lost in a crash of the
    /// database: ack would no longer mean durable). For throw-away test databases only.
    /// </summary>
    public bool AllowAsynchronousCommit { get; init; }
}
