using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>
/// The SDK's local SQLite database (WAL, synchronous=FULL): device identity, the durable batch queue and the anchors.
/// Every mutation is one transaction; one connection, serialized by a lock. Its concerns live in partial files:
/// <c>.Device</c> (account, device, epoch, restore), <c>.Meta</c>, <c>.Queue</c> (enqueue, counts, listing),
/// <c>.Dispatch</c> (batch_seq assignment and renumbering), <c>.Resolution</c> (acks, rejections),
/// <c>.Anchors</c>, <c>.Quarantine</c>, <c>.Reconciliation</c> and <c>.Records</c>; the tables are in <see cref="SyncStoreSchema"/>.
/// </summary>
internal sealed partial class SyncStore : IAsyncDisposable
{
    private readonly SqliteConnection _db;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly TimeProvider _clock;
    private readonly PayloadCipher _cipher;

    private SyncStore(SqliteConnection db, TimeProvider clock, PayloadCipher cipher)
    {
        _db = db;
        _clock = clock;
        _cipher = cipher;
    }

    /// <summary>True when the queued payloads are encrypted at rest.</summary>
    public bool EncryptsPayloads => _cipher.Encrypts;

    public string Path { get; private init; } = "";

    /// <summary>The connection (tests install SQLite hooks on it).</summary>
    internal SqliteConnection Connection => _db;

    public required QuarantinePolicy Quarantine { get; init; }

    public static async Task<SyncStore> OpenAsync(string path, TimeProvider clock, QuarantinePolicy quarantine, CancellationToken ct, IQueueKeyProvider? keys = null)
    {
        // Opening creates, migrates and checkpoints the file: disk writes, never on the caller's (UI) thread.
        await OffCallerThread.Hop();
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        OwnerOnlyFiles.Prepare(full);
        var cs = new SqliteConnectionStringBuilder { DataSource = full, Pooling = false, Mode = SqliteOpenMode.ReadWriteCreate }.ToString();
        var db = new SqliteConnection(cs);
        try
        {
            await db.OpenAsync(ct).ConfigureAwait(false);
            await SyncStoreSchema.CreateAsync(db, ct).ConfigureAwait(false);
            await SyncStoreSchema.MigrateAsync(db, ct).ConfigureAwait(false);
            var cipher = await PayloadEncryption.OpenAsync(db, full, keys, ct).ConfigureAwait(false);
            OwnerOnlyFiles.Restrict(full);
            return new SyncStore(db, clock, cipher) { Path = full, Quarantine = quarantine };
        }
        catch (Exception e)
        {
            await db.DisposeAsync().ConfigureAwait(false);
            if (StoreFailure.Is(e))
            {
                throw StoreFailure.Wrap(e, full);
            }

            throw;
        }
    }

    private long NowMs => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Runs PRAGMA integrity_check and returns its answer ("ok" when healthy).</summary>
    public Task<string> IntegrityCheckAsync(CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var cmd = Command(null, "PRAGMA integrity_check");
                return (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            },
            ct);

    public async ValueTask DisposeAsync()
    {
        await EnterAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _db.DisposeAsync().ConfigureAwait(false);
            _cipher.Dispose();
        }
        finally
        {
            _lock.Release();
            _lock.Dispose();
        }
    }

    /// <summary>
    /// Leaves the caller's thread (a UI thread must never wait for an fsync: Microsoft.Data.Sqlite's async methods run
    /// synchronously), then takes the store lock. Every store operation starts here.
    /// </summary>
    private async Task EnterAsync(CancellationToken ct)
    {
        await OffCallerThread.Hop();
        await _lock.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one store operation under the lock (see <see cref="EnterAsync"/>); a failure of SQLite, the disk or a payload
    /// leaves as <see cref="LocalStoreException"/> naming the file.
    /// </summary>
    private async Task<T> LockedAsync<T>(Func<Task<T>> operation, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc cref="LockedAsync{T}(Func{Task{T}}, CancellationToken)"/>
    private async Task LockedAsync(Func<Task> operation, CancellationToken ct) =>
        await LockedAsync(
            async () =>
            {
                await operation().ConfigureAwait(false);
                return true;
            },
            ct).ConfigureAwait(false);

    private SqliteCommand Command(SqliteTransaction? tx, string sql)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private async Task<int> ExecAsync(SqliteTransaction? tx, string sql, CancellationToken ct, params (string Name, object Value)[] args)
    {
        using var cmd = Command(tx, sql);
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Every row of <paramref name="cmd"/>, each read by <paramref name="read"/>.</summary>
    private static async Task<List<T>> ReadAllAsync<T>(SqliteCommand cmd, Func<SqliteDataReader, T> read, CancellationToken ct)
    {
        var list = new List<T>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(read(r));
        }

        return list;
    }
}
