using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// SQLite implementation of <see cref="IHealthStore"/>: WAL, synchronous=FULL, ONE writer connection owned by a
/// dedicated commit thread that group-commits every queued batch (of all devices and users) in one transaction (a batch
/// whose own logic fails is dropped and the rest re-executed); reads use pooled read-only connections. See README.md.
/// </summary>
public sealed partial class SqliteHealthStore : IHealthStore
{
    private readonly string _path;
    private readonly SqliteStoreOptions _options;
    private readonly string _readConnectionString;
    private readonly Channel<WorkItem> _queue;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<long, SourceRecord> _sourceCache = new();
    private readonly ConcurrentDictionary<long, string> _unitCache = new();
    private readonly SqliteReadRunner _reads;
    // Users whose feeds the current group moved; touched by the commit thread only, published once the group committed.
    private readonly HashSet<string> _committedUsers = new(StringComparer.Ordinal);
    private readonly SqliteAccounts _accounts;
    private SqliteWriter? _writer;
    private int _disposed;

    /// <summary>The options the store was opened with (diagnostics; operators set them from configuration).</summary>
    public SqliteStoreOptions Options => _options;

    private SqliteHealthStore(string path, SqliteStoreOptions options, SqliteWriter writer)
    {
        _path = path;
        _options = options;
        _writer = writer;
        _readConnectionString = SqliteSchema.ReaderConnectionString(path, options.BusyTimeout);
        _reads = new SqliteReadRunner(OpenReader, Environment.ProcessorCount);
        _accounts = new SqliteAccounts(path, options.BusyTimeout);
        _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(Math.Max(1, options.GroupCommit.QueueCapacity))
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _thread = new Thread(RunWriter) { IsBackground = true, Name = "HealthGrpc.Storage.SqliteWriter" };
        _thread.Start();
    }

    /// <summary>The database file.</summary>
    public string Path => _path;

    /// <inheritdoc />
    public ChangeNotifications ChangeNotifications { get; } = new();

    /// <summary>Opens (creating and migrating if needed) the database file at <paramref name="path"/> and starts the writer.</summary>
    public static Task<SqliteHealthStore> OpenAsync(string path, SqliteStoreOptions? options = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ct.ThrowIfCancellationRequested();
        options ??= new SqliteStoreOptions();
        var writer = new SqliteWriter(path, options);
        return Task.FromResult(new SqliteHealthStore(path, options, writer));
    }

    // ---- writes (all through the single writer) ------------------------------------------------------------------

    public Task CreateUserAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return EnqueueAsync(new WorkItem<bool>(1, (w, t) => w.EnsureUser(userId, t.ToUnixTimeMilliseconds()) > 0, ct), ct);
    }

    public Task AddTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (tokenHash.IsEmpty)
        {
            throw new ArgumentException("A token hash is required.", nameof(tokenHash));
        }

        var hash = tokenHash.ToArray();
        return EnqueueAsync(new WorkItem<bool>(1, (w, t) =>
        {
            w.AddToken(userId, hash, t.ToUnixTimeMilliseconds());
            return true;
        }, ct), ct);
    }

    public Task CheckWritableAsync(CancellationToken ct)
    {
        if (_writerDone.Task.IsCompleted)
        {
            throw _writerDone.Task.Exception?.InnerException is { } cause
                ? new HealthStoreUnavailableException("The store's writer stopped.", cause)
                : new HealthStoreUnavailableException("The store is closed.");
        }

        // Through the commit thread, so a stuck or dead writer shows; the write (a meta row) proves the disk takes writes.
        return EnqueueAsync(new WorkItem<bool>(1, (w, t) =>
        {
            w.TouchHealthProbe(t.ToUnixTimeMilliseconds());
            return true;
        }, ct), ct);
    }

    public Task<CommitOutcome> CommitAsync(IngestBatch batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentException.ThrowIfNullOrEmpty(batch.UserId);
        ArgumentException.ThrowIfNullOrEmpty(batch.DeviceId);
        ArgumentNullException.ThrowIfNull(batch.EncodeAck);
        if (batch.Epoch == 0 || batch.BatchSeq == 0)
        {
            throw new ArgumentException("Epoch and batch_seq start at 1.", nameof(batch));
        }

        return EnqueueAsync(new WorkItem<CommitOutcome>(batch.ItemCount + 1, (w, t) =>
        {
            var outcome = w.ApplyBatch(batch, t);
            if (outcome is CommitOutcome.Committed)
            {
                // A rolled-back attempt may leave the user here: a spurious wake-up only costs the listener one read.
                _committedUsers.Add(batch.UserId);
            }

            return outcome;
        }, ct), ct);
    }

    private async Task<T> EnqueueAsync<T>(WorkItem<T> item, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        try
        {
            await _queue.Writer.WriteAsync(item, ct);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(SqliteHealthStore));
        }

        return await item.Task;
    }

    // ---- the commit loop -----------------------------------------------------------------------------------------

    private void RunWriter()
    {
        var group = new List<WorkItem>();
        try
        {
            var reader = _queue.Reader;
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                Collect(reader, group);
                if (group.Count > 0)
                {
                    ExecuteGroup(group);
                    group.Clear();
                }
            }
        }
        catch (Exception error)
        {
            var failure = new HealthStoreUnavailableException("The store's writer stopped.", error);
            foreach (var item in group)
            {
                item.Fail(failure);
            }

            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var queued))
            {
                queued.Fail(failure);
            }

            _writerDone.TrySetException(error);
            return;
        }

        _writerDone.TrySetResult();
    }

    private void Collect(ChannelReader<WorkItem> reader, List<WorkItem> group)
    {
        var maxRows = Math.Max(1, _options.GroupCommit.MaxRows);
        var rows = 0;
        while (rows < maxRows && reader.TryRead(out var item))
        {
            group.Add(item);
            rows += item.Rows;
        }

        var maxDelay = _options.GroupCommit.MaxDelay;
        if (maxDelay <= TimeSpan.Zero || rows >= maxRows)
        {
            return;
        }

        var deadline = Environment.TickCount64 + (long)Math.Ceiling(maxDelay.TotalMilliseconds);
        while (rows < maxRows)
        {
            if (reader.TryRead(out var item))
            {
                group.Add(item);
                rows += item.Rows;
                continue;
            }

            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                return;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(remaining));
            try
            {
                if (!reader.WaitToReadAsync(timeout.Token).AsTask().GetAwaiter().GetResult())
                {
                    return; // completed: commit what we have, the outer loop then ends
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Runs every item of the group in ONE transaction and commits once. No savepoints on the happy path (a savepoint
    /// makes SQLite copy every page a batch first touches into a sub-journal, 10-20% of the insert cost): when
    /// an item's own logic throws, the transaction is rolled back, that item alone fails and the rest of the group is
    /// re-executed from scratch (results are recomputed, nothing was published yet). Storage-level failures
    /// (I/O, disk full, corruption, locking) and a failing COMMIT fail every item of the group: none is acked.
    /// </summary>
    private void ExecuteGroup(List<WorkItem> group)
    {
        var commitTime = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        SqliteWriter? writer = null;
        try
        {
            writer = _writer ??= new SqliteWriter(_path, _options);
            foreach (var item in group)
            {
                if (item.CancellationToken.IsCancellationRequested)
                {
                    item.Cancel();
                }
            }

            while (true)
            {
                writer.Begin();
                WorkItem? failed = null;
                Exception? failure = null;
                foreach (var item in group)
                {
                    if (item.Finished)
                    {
                        continue;
                    }

                    try
                    {
                        item.Execute(writer, commitTime);
                    }
                    catch (Exception error) when (!IsStorageFailure(error))
                    {
                        (failed, failure) = (item, error);
                        break;
                    }
                }

                if (failed is null)
                {
                    break;
                }

                writer.Rollback();
                failed.Fail(failure!);
            }

            writer.Commit();
        }
        catch (Exception error)
        {
            try
            {
                writer?.Rollback();
            }
            catch (Exception)
            {
                // The connection is unusable: reopen it for the next group.
                writer?.Dispose();
                _writer = null;
            }

            var failure = new HealthStoreUnavailableException("The commit failed; nothing of the batch was stored.", error);
            foreach (var item in group)
            {
                item.Fail(failure);
            }

            return;
        }

        // Durable now: wake the live subscriptions before the callers are completed (and ack).
        ChangeNotifications.Publish(_committedUsers);
        _committedUsers.Clear();
        foreach (var item in group)
        {
            item.Complete();
        }
    }

    /// <summary>Errors of the database itself (not of one batch's content): they fail the whole group.</summary>
    private static bool IsStorageFailure(Exception error)
        => error is OutOfMemoryException
           || (error is SqliteException sqlite && (sqlite.SqliteErrorCode & 0xFF) is
               5 /* BUSY */ or 6 /* LOCKED */ or 7 /* NOMEM */ or 8 /* READONLY */ or 10 /* IOERR */ or 11 /* CORRUPT */ or
               13 /* FULL */ or 14 /* CANTOPEN */ or 26 /* NOTADB */);

    // ---- reads (pooled read-only connections: committed data only) -----------------------------------------------

    private SqliteConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        return connection;
    }

    public async Task<string?> FindUserByTokenHashAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct) =>
        await _accounts.FindCredentialAsync(tokenHash, ct).ConfigureAwait(false) is { } credential && credential.Check(DateTimeOffset.UtcNow) == CredentialState.Valid
            ? credential.UserId
            : null;

    // ---- accounts (SqliteAccounts: short transactions of their own, outside the group commit) ---------------------

    public Task<UserAccount?> FindUserAsync(string userId, CancellationToken ct) => _accounts.FindUserAsync(userId, ct);

    public Task<IReadOnlyList<UserAccount>> ListUsersAsync(CancellationToken ct) => _accounts.ListUsersAsync(ct);

    public Task<bool> DisableUserAsync(string userId, CancellationToken ct) => _accounts.DisableUserAsync(userId, ct);

    public Task<TokenInfo?> IssueTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, DateTimeOffset? expiresAt, CancellationToken ct) =>
        _accounts.IssueTokenAsync(userId, tokenHash, expiresAt, ct);

    public Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? userId, CancellationToken ct) => _accounts.ListTokensAsync(userId, ct);

    public Task<TokenRevocation> RevokeTokenAsync(string tokenId, CancellationToken ct) => _accounts.RevokeTokenAsync(tokenId, ct);

    public Task<Credential?> FindCredentialAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct) => _accounts.FindCredentialAsync(tokenHash, ct);

    public Task<long> GetAuthGenerationAsync(CancellationToken ct) => _accounts.GetAuthGenerationAsync(ct);

    public Task<DeviceState> GetDeviceStateAsync(string userId, string deviceId, ulong epoch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var connection = OpenReader();
        using var command = Command(
            connection,
            """
            SELECT d.newest_epoch,
                   (SELECT high_water_mark FROM device_epochs WHERE device_ref = d.id AND epoch = $e)
            FROM devices d JOIN users u ON u.id = d.user_ref
            WHERE u.user_id = $u AND d.device_id = $d
            """,
            ("$u", userId), ("$d", deviceId), ("$e", unchecked((long)epoch)));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return Task.FromResult(new DeviceState(0, 0, false));
        }

        var newest = unchecked((ulong)reader.GetInt64(0));
        var hwm = reader.IsDBNull(1) ? 0 : unchecked((ulong)reader.GetInt64(1));
        return Task.FromResult(new DeviceState(hwm, newest, epoch < newest));
    }

    public Task<DeviceCheckpoint?> GetCheckpointAsync(string userId, string deviceId, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var connection = OpenReader();
        long deviceRef;
        ulong epoch, hwm;
        long lastCommitMs;
        using (var command = Command(
            connection,
            """
            SELECT d.id, d.newest_epoch, d.last_commit_ms,
                   (SELECT high_water_mark FROM device_epochs WHERE device_ref = d.id AND epoch = d.newest_epoch)
            FROM devices d JOIN users u ON u.id = d.user_ref
            WHERE u.user_id = $u AND d.device_id = $d
            """,
            ("$u", userId), ("$d", deviceId)))
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read())
            {
                return Task.FromResult<DeviceCheckpoint?>(null);
            }

            deviceRef = reader.GetInt64(0);
            epoch = unchecked((ulong)reader.GetInt64(1));
            lastCommitMs = reader.GetInt64(2);
            hwm = reader.IsDBNull(3) ? 0 : unchecked((ulong)reader.GetInt64(3));
        }

        var anchors = new List<AnchorRecord>();
        using (var command = Command(
            connection,
            "SELECT type, vendor_type, anchor FROM anchors WHERE device_ref = $d ORDER BY type, vendor_type",
            ("$d", deviceRef)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var vendor = reader.GetString(1);
                anchors.Add(new AnchorRecord(reader.GetInt32(0), vendor.Length == 0 ? null : vendor, (byte[])reader.GetValue(2)));
            }
        }

        return Task.FromResult<DeviceCheckpoint?>(
            new DeviceCheckpoint(deviceId, epoch, hwm, anchors, DateTimeOffset.FromUnixTimeMilliseconds(lastCommitMs)));
    }

    public Task<long> GetChangeSequenceAsync(string userId, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var connection = OpenReader();
        using var command = Command(connection, "SELECT change_seq FROM users WHERE user_id = $u", ("$u", userId));
        return Task.FromResult(command.ExecuteScalar() as long? ?? 0);
    }

    /// <summary>0: nothing is purged from the feed yet (retention will move the floor).</summary>
    public Task<long> GetChangeFloorAsync(string userId, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(0L);
    }

    public Task<long> CountSamplesAsync(string userId, CancellationToken ct)
        => CountAsync("SELECT COUNT(*) FROM samples WHERE user_ref = (SELECT id FROM users WHERE user_id = $u)", userId, ct);

    public Task<long> CountSeriesPointsAsync(string userId, CancellationToken ct)
        => CountAsync("SELECT COALESCE(SUM(point_count), 0) FROM series WHERE user_ref = (SELECT id FROM users WHERE user_id = $u)", userId, ct);

    private Task<long> CountAsync(string sql, string userId, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var connection = OpenReader();
        using var command = Command(connection, sql, ("$u", userId));
        return Task.FromResult((long)command.ExecuteScalar()!);
    }

    public Task<ChangePage> ReadChangesAsync(string userId, long afterSequence, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _reads.RunAsync(connection => SqliteChangeReader.Read(connection, userId, afterSequence, limit, _sourceCache, _unitCache), ct);
    }

    public Task<IReadOnlyList<RollupRecord>> ReadRollupsAsync(string userId, int type, long fromUnixMs, long toUnixMs, CancellationToken ct)
        => _reads.RunAsync(connection => SqliteRollupReader.Read(connection, userId, type, fromUnixMs, toUnixMs, _sourceCache, _unitCache), ct);

    public Task<SampleReadPage> ReadSamplesAsync(SampleQuery query, CancellationToken ct)
        => _reads.RunAsync(connection => SqliteSampleReader.Read(connection, query, _sourceCache, _unitCache), ct);

    // ---- shutdown ------------------------------------------------------------------------------------------------

    /// <summary>Stops accepting work, commits everything already queued (graceful drain), then closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _writerDone.Task.ConfigureAwait(false);
            return;
        }

        _queue.Writer.TryComplete();
        try
        {
            await _writerDone.Task.ConfigureAwait(false);
        }
        finally
        {
            _thread.Join();
            _writer?.Dispose();
            _writer = null;
            using var pooled = new SqliteConnection(_readConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
    }
}
