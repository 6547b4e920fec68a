using System.Threading.Channels;
using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// PostgreSQL implementation of <see cref="IHealthStore"/>, for N stateless server instances on one database. Each
/// instance has one writer loop that group-commits its callers' batches in one transaction (set-based: binary COPY of
/// the new samples into a staging table and one INSERT … SELECT … ON CONFLICT, array statements for the rest). Per-user
/// ordering across instances comes from the users' row locks (SELECT … FOR UPDATE in id order, held to COMMIT): batch_seq
/// checks, epoch fencing and change sequences of one user are decided by one writer at a time, whichever instance it is
/// on, so commits of a user become visible in change-sequence order. Reads use pooled connections and repeatable-read
/// snapshots; other instances' commits arrive through LISTEN/NOTIFY. See src/HealthGrpc.Storage/README.md.
/// </summary>
public sealed partial class PostgresHealthStore : IHealthStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresStoreOptions _options;
    private readonly Channel<PgWorkItem> _queue;
    private readonly Task _writerLoop;
    private readonly PgWriterConnection _writer;
    private readonly PgLookups _lookups = new();
    private readonly PgAccounts _accounts;
    private readonly PgGrants _grants;
    private readonly PgUsage _usage;
    private PgChangeListener? _listener;
    private int _disposed;

    private PostgresHealthStore(NpgsqlDataSource dataSource, PostgresStoreOptions options)
    {
        _dataSource = dataSource;
        _options = options;
        _accounts = new PgAccounts(dataSource);
        _grants = new PgGrants(dataSource);
        _usage = new PgUsage(dataSource);
        _writer = new PgWriterConnection(dataSource);
        _queue = Channel.CreateBounded<PgWorkItem>(new BoundedChannelOptions(Math.Max(1, options.GroupCommit.QueueCapacity))
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writerLoop = Task.Run(RunWriterAsync);
    }

    /// <inheritdoc />
    public ChangeNotifications ChangeNotifications { get; } = new();

    /// <summary>The options the store was opened with.</summary>
    public PostgresStoreOptions Options => _options;

    /// <summary>
    /// Connects (bounded pool: <see cref="PostgresStoreOptions.MaxPoolSize"/>), refuses a server whose synchronous_commit
    /// is off (unless <see cref="PostgresStoreOptions.AllowAsynchronousCommit"/>), migrates, starts the writer and the
    /// change listener.
    /// </summary>
    public static async Task<PostgresHealthStore> OpenAsync(string connectionString, PostgresStoreOptions? options = null, CancellationToken ct = default)
    {
        options ??= new PostgresStoreOptions();
        var builder = PgConnectionString.Parse(connectionString);
        if (!connectionString.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase)
            && !connectionString.Contains("Max Pool Size", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxPoolSize = options.MaxPoolSize;
        }

        builder.Timeout = Math.Max(1, (int)Math.Ceiling(options.ConnectionTimeout.TotalSeconds));
        builder.CommandTimeout = Math.Max(1, (int)Math.Ceiling(options.CommandTimeout.TotalSeconds));
        var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        try
        {
            await using (var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false))
            {
                await CheckDurabilityAsync(connection, options, ct).ConfigureAwait(false);
                await PostgresSchema.MigrateAsync(connection, ct).ConfigureAwait(false);
            }
        }
        catch (Exception error) when (error is NpgsqlException or IOException or TimeoutException)
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw new HealthStoreUnavailableException($"Cannot open the PostgreSQL store ({builder.Host}:{builder.Port}/{builder.Database}): {error.Message}", error);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var store = new PostgresHealthStore(dataSource, options);
        store._listener = new PgChangeListener(dataSource, store.ChangeNotifications, () => store._writer.ProcessId);
        try
        {
            await store._listener.Listening.WaitAsync(options.ConnectionTimeout * 2, ct).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return store;
    }

    /// <summary>Ack means durable: refuse a server that acknowledges commits before they are on disk.</summary>
    private static async Task CheckDurabilityAsync(NpgsqlConnection connection, PostgresStoreOptions options, CancellationToken ct)
    {
        await using var command = Command(connection, "SELECT current_setting('synchronous_commit'), current_setting('fsync')");
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        var (synchronousCommit, fsync) = (reader.GetString(0), reader.GetString(1));
        if (options.AllowAsynchronousCommit)
        {
            return;
        }

        if (string.Equals(synchronousCommit, "off", StringComparison.OrdinalIgnoreCase) || string.Equals(fsync, "off", StringComparison.OrdinalIgnoreCase))
        {
            throw new HealthStoreConfigurationException(
                $"PostgreSQL has synchronous_commit={synchronousCommit}, fsync={fsync}: an acknowledged batch could be lost in a crash. " +
                "Set synchronous_commit=on and fsync=on on the server (or for the role/database), or, for a throw-away test database only, " +
                "Storage:AllowAsynchronousCommit=true.");
        }
    }

    // ---- writes ----------------------------------------------------------------------------------------------------

    public Task CreateUserAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return RunAsync(() => _accounts.CreateUserAsync(userId, ct));
    }

    public Task AddTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (tokenHash.IsEmpty)
        {
            throw new ArgumentException("A token hash is required.", nameof(tokenHash));
        }

        var hash = tokenHash.ToArray();
        return RunAsync(() => _accounts.AddTokenAsync(userId, hash, ct));
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

        var item = new CommitItem(batch, ct);
        return EnqueueAsync(item, item.Task, ct);
    }

    public Task CheckWritableAsync(CancellationToken ct)
    {
        if (_writerLoop.IsCompleted)
        {
            throw new HealthStoreUnavailableException("The store is closed.");
        }

        // Through the writer loop, so a stuck writer or an unreachable database shows; the probe row proves writes commit.
        var item = new PgWorkItem<bool>(1, ct);
        return EnqueueAsync(item, item.Task, ct);
    }

    private async Task<T> EnqueueAsync<T>(PgWorkItem item, Task<T> completion, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        try
        {
            await _queue.Writer.WriteAsync(item, ct).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(PostgresHealthStore));
        }

        return await completion.ConfigureAwait(false);
    }

    // ---- the writer loop -------------------------------------------------------------------------------------------

    private async Task RunWriterAsync()
    {
        var reader = _queue.Reader;
        var group = new List<PgWorkItem>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await CollectAsync(reader, group).ConfigureAwait(false);
            await ExecuteInOrderAsync(group).ConfigureAwait(false);
            group.Clear();
        }
    }

    /// <summary>
    /// Commits the collected items in queue order: consecutive batches and probes as one group, each retention call as a
    /// transaction of its own between them (so a batch queued after a purge batch commits before the next one).
    /// </summary>
    private async Task ExecuteInOrderAsync(List<PgWorkItem> collected)
    {
        var group = new List<PgWorkItem>();
        foreach (var item in collected)
        {
            if (item is not IRetentionWork retention)
            {
                group.Add(item);
                continue;
            }

            if (group.Count > 0)
            {
                await CommitGroupAsync(group).ConfigureAwait(false);
                group = [];
            }

            await ObservedAsync([item], () => retention.ExecuteAsync(_writer)).ConfigureAwait(false);
        }

        if (group.Count > 0)
        {
            await CommitGroupAsync(group).ConfigureAwait(false);
        }
    }

    private Task CommitGroupAsync(List<PgWorkItem> group) =>
        ObservedAsync(group, () => PgGroupCommit.ExecuteAsync(_writer, group, ChangeNotifications));

    private async Task CollectAsync(ChannelReader<PgWorkItem> reader, List<PgWorkItem> group)
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

        using var timeout = new CancellationTokenSource(maxDelay);
        while (rows < maxRows)
        {
            if (reader.TryRead(out var item))
            {
                group.Add(item);
                rows += item.Rows;
                continue;
            }

            try
            {
                if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
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

    // ---- reads -----------------------------------------------------------------------------------------------------

    public async Task<string?> FindUserByTokenHashAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct) =>
        await FindCredentialAsync(tokenHash, ct).ConfigureAwait(false) is { } credential && credential.Check(DateTimeOffset.UtcNow) == CredentialState.Valid
            ? credential.UserId
            : null;

    public Task<UserAccount?> FindUserAsync(string userId, CancellationToken ct) => RunAsync(() => _accounts.FindUserAsync(userId, ct));

    public Task<IReadOnlyList<UserAccount>> ListUsersAsync(CancellationToken ct) => RunAsync(() => _accounts.ListUsersAsync(ct));

    public Task<bool> DisableUserAsync(string userId, CancellationToken ct) => RunAsync(() => _accounts.DisableUserAsync(userId, ct));

    public Task<TokenInfo?> IssueTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, DateTimeOffset? expiresAt, CancellationToken ct) =>
        RunAsync(() => _accounts.IssueTokenAsync(userId, tokenHash, expiresAt, ct));

    public Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? userId, CancellationToken ct) => RunAsync(() => _accounts.ListTokensAsync(userId, ct));

    public Task<TokenRevocation> RevokeTokenAsync(string tokenId, CancellationToken ct) => RunAsync(() => _accounts.RevokeTokenAsync(tokenId, ct));

    public Task<Credential?> FindCredentialAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct) =>
        RunAsync(() => _accounts.FindCredentialAsync(tokenHash, ct));

    public Task<long> GetAuthGenerationAsync(CancellationToken ct) => RunAsync(() => _accounts.GetAuthGenerationAsync(ct));

    public Task<DeviceState> GetDeviceStateAsync(string userId, string deviceId, ulong epoch, CancellationToken ct) =>
        ReadAsync(connection => PgDeviceReader.ReadStateAsync(connection, userId, deviceId, epoch, ct), ct);

    public Task<DeviceCheckpoint?> GetCheckpointAsync(string userId, string deviceId, CancellationToken ct) =>
        ReadAsync(connection => PgDeviceReader.ReadCheckpointAsync(connection, userId, deviceId, ct), ct);

    public Task<long> GetChangeSequenceAsync(string userId, CancellationToken ct) =>
        ScalarAsync("SELECT COALESCE((SELECT change_seq FROM users WHERE user_id = @u), 0)", userId, ct);

    public Task<long> CountSeriesPointsAsync(string userId, CancellationToken ct) =>
        ScalarAsync("SELECT COALESCE(SUM(point_count), 0)::bigint FROM series WHERE user_ref = (SELECT id FROM users WHERE user_id = @u)", userId, ct);

    public Task<ChangePage> ReadChangesAsync(string userId, long afterSequence, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return ReadAsync(connection => PgChangeReader.ReadAsync(connection, _lookups, userId, afterSequence, limit, ct), ct);
    }

    public Task<IReadOnlyList<RollupRecord>> ReadRollupsAsync(string userId, int type, long fromUnixMs, long toUnixMs, CancellationToken ct) =>
        ReadAsync(connection => PgRollupReader.ReadAsync(connection, _lookups, userId, type, fromUnixMs, toUnixMs, ct), ct);

    public Task<SampleReadPage> ReadSamplesAsync(SampleQuery query, CancellationToken ct) =>
        ReadAsync(connection => PgSampleReader.ReadAsync(connection, _lookups, query, ct), ct);

    private Task<long> ScalarAsync(string sql, string userId, CancellationToken ct) =>
        ReadAsync(async connection =>
        {
            await using var command = Command(connection, sql, Value("u", userId));
            return Convert.ToInt64(await command.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }, ct);

    private Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken ct) =>
        RunAsync(async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            return await read(connection).ConfigureAwait(false);
        });

    /// <summary>Runs a database call; an unreachable database or an exhausted pool answers <see cref="HealthStoreUnavailableException"/>.</summary>
    private async Task<T> RunAsync<T>(Func<Task<T>> call)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception error) when (PgErrors.IsUnavailable(error))
        {
            throw new HealthStoreUnavailableException($"PostgreSQL is unavailable: {error.Message}", error);
        }
    }

    private Task<bool> RunAsync(Func<Task> call) => RunAsync(async () =>
    {
        await call().ConfigureAwait(false);
        return true;
    });

    // ---- shutdown --------------------------------------------------------------------------------------------------

    /// <summary>Stops accepting work, commits everything already queued (graceful drain), then closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _writerLoop.ConfigureAwait(false);
            return;
        }

        _queue.Writer.TryComplete();
        try
        {
            await _writerLoop.ConfigureAwait(false);
        }
        finally
        {
            if (_listener is not null)
            {
                await _listener.DisposeAsync().ConfigureAwait(false);
            }

            await _writer.DisposeAsync().ConfigureAwait(false);
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }
}
