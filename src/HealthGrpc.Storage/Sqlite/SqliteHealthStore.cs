using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// SQLite implementation of <see cref="IHealthStore"/>: WAL, synchronous=FULL, ONE writer connection owned by the
/// group-commit thread (<see cref="SqliteCommitLoop"/>), which commits every queued batch (of all devices and users) in
/// one transaction; reads run off the caller's thread on pooled read-only connections (<see cref="SqliteReadRunner"/>).
/// See README.md.
/// </summary>
public sealed partial class SqliteHealthStore : IHealthStore, IRetentionStore, IWriterObservations, IQuotaStore
{
    private readonly string _path;
    private readonly SqliteStoreOptions _options;
    private readonly string _readConnectionString;
    private readonly SqliteCommitLoop _commits;
    private readonly ConcurrentDictionary<long, SourceRecord> _sourceCache = new();
    private readonly ConcurrentDictionary<long, string> _unitCache = new();
    private readonly SqliteReadRunner _reads;
    // Users whose feeds the current group moved; touched by the commit thread only, published once the group committed.
    private readonly HashSet<string> _committedUsers = new(StringComparer.Ordinal);
    private readonly SqliteAccounts _accounts;
    private readonly SqliteUsage _usage;
    private int _disposed;

    /// <summary>The options the store was opened with (diagnostics; operators set them from configuration).</summary>
    public SqliteStoreOptions Options => _options;

    private SqliteHealthStore(string path, SqliteStoreOptions options, SqliteWriter writer)
    {
        _path = path;
        _options = options;
        _readConnectionString = SqliteSchema.ReaderConnectionString(path, options.BusyTimeout);
        _reads = new SqliteReadRunner(OpenReader, Environment.ProcessorCount);
        // A gate of their own: token lookups (one per authenticated call) never queue behind long range reads.
        _accounts = new SqliteAccounts(path, options.BusyTimeout, new SqliteReadRunner(OpenReader, Environment.ProcessorCount));
        _usage = new SqliteUsage(path, options.BusyTimeout);
        _commits = new SqliteCommitLoop(path, options, writer, PublishCommitted);
    }

    /// <summary>The database file.</summary>
    public string Path => _path;

    /// <inheritdoc />
    public ChangeNotifications ChangeNotifications { get; } = new();

    /// <summary>
    /// Opens (creating and migrating if needed) the database file at <paramref name="path"/> and starts the writer. The
    /// open and the migrations are blocking SQLite work: they run on a thread-pool thread, not the caller's.
    /// </summary>
    public static async Task<SqliteHealthStore> OpenAsync(string path, SqliteStoreOptions? options = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ct.ThrowIfCancellationRequested();
        options ??= new SqliteStoreOptions();
        var writer = await Task.Run(() => new SqliteWriter(path, options), ct).ConfigureAwait(false);
        return new SqliteHealthStore(path, options, writer);
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
        if (_commits.Done.IsCompleted)
        {
            throw _commits.Done.Exception?.InnerException is { } cause
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

    // ---- retention (IRetentionStore: bounded work items of the group commit) -----------------------------------

    public Task<PurgeResult> PurgeAsync(int type, long beforeUnixMs, int maxRows, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        return EnqueueAsync(new WorkItem<PurgeResult>(maxRows, (w, _) => w.Purge(type, beforeUnixMs, maxRows), ct), ct);
    }

    public Task<AckCompaction> CompactAcksAsync(long beforeUnixMs, long afterPosition, int maxRows, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        return EnqueueAsync(new WorkItem<AckCompaction>(maxRows, (w, _) => w.CompactAcks(beforeUnixMs, afterPosition, maxRows), ct), ct);
    }

    private Task<T> EnqueueAsync<T>(WorkItem<T> item, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _commits.EnqueueAsync(item, ct);
    }

    /// <summary>On the commit thread, after a durable COMMIT: wake the live subscriptions before the callers complete (and ack).</summary>
    private void PublishCommitted()
    {
        ChangeNotifications.Publish(_committedUsers);
        _committedUsers.Clear();
    }

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

    // ---- quotas (SqliteUsage) ------------------------------------------------------------------------------------

    public Task<QuotaOverride?> GetQuotaOverrideAsync(string userId, CancellationToken ct) => _usage.GetQuotaOverrideAsync(userId, ct);

    public Task<bool> SetQuotaOverrideAsync(string userId, QuotaOverride quota, CancellationToken ct) => _usage.SetQuotaOverrideAsync(userId, quota, ct);

    public Task<QuotaUsage> GetUsageAsync(string userId, long sinceUnixMs, bool withStoredBytes, CancellationToken ct) =>
        _usage.GetUsageAsync(userId, sinceUnixMs, withStoredBytes, ct);

    // ---- device state, change feed, range reads, rollups (SqliteReadRunner: off the caller's thread) -------------

    public Task<DeviceState> GetDeviceStateAsync(string userId, string deviceId, ulong epoch, CancellationToken ct)
        => _reads.RunAsync(connection => SqliteDeviceReader.ReadState(connection, userId, deviceId, epoch), ct);

    public Task<DeviceCheckpoint?> GetCheckpointAsync(string userId, string deviceId, CancellationToken ct)
        => _reads.RunAsync(connection => SqliteDeviceReader.ReadCheckpoint(connection, userId, deviceId), ct);

    public Task<long> GetChangeSequenceAsync(string userId, CancellationToken ct)
        => ReadUserIntegerAsync("SELECT change_seq FROM users WHERE user_id = $user", userId, ct);

    /// <summary>The highest sequence retention purged from the user's feed (0 while nothing was).</summary>
    public Task<long> GetChangeFloorAsync(string userId, CancellationToken ct)
        => ReadUserIntegerAsync("SELECT change_floor FROM users WHERE user_id = $user", userId, ct);

    public Task<long> CountSeriesPointsAsync(string userId, CancellationToken ct)
        => ReadUserIntegerAsync("SELECT COALESCE(SUM(point_count), 0) FROM series WHERE user_ref = (SELECT id FROM users WHERE user_id = $user)", userId, ct);

    /// <summary>One integer about a user (<c>$user</c> is the user id); 0 when the query returns no row.</summary>
    private Task<long> ReadUserIntegerAsync(string sql, string userId, CancellationToken ct)
        => _reads.RunAsync(
            connection =>
            {
                using var command = Command(connection, sql, ("$user", userId));
                return command.ExecuteScalar() as long? ?? 0;
            },
            ct);

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
            await _commits.Done.ConfigureAwait(false);
            return;
        }

        try
        {
            await _commits.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            using var pooled = new SqliteConnection(_readConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
    }
}
