using System.Collections.Concurrent;
using HealthGrpc.Contracts.V1;
using Polly;

namespace HealthGrpc.Client;

/// <summary>
/// The HealthGrpc client SDK: a durable SQLite queue, anchors committed only on ack, and the three-tier sync engine over
/// one <c>Sync</c> stream. Create one per app with <see cref="OpenAsync"/>, <see cref="Start"/> it, feed it with
/// <see cref="EnqueueAsync"/> / <see cref="SendImmediateAsync"/> (push) or <see cref="CollectAsync"/> (anchored sources),
/// call <see cref="DrainAsync"/> when the app comes to the foreground or the network is back, and dispose it on exit.
/// Thread-safe.
/// </summary>
public sealed partial class HealthSyncClient : IAsyncDisposable
{
    private readonly HealthSyncOptions _options;
    private readonly SyncStore _store;
    private volatile Connection _connection;
    private readonly ICredentialsProvider _credentials;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<Ack?>> _waiters = new();
    private readonly AsyncSignal _work = new();
    private readonly AsyncSignal _credentialsChanged = new();
    private readonly SemaphoreSlim _restoreLock = new(1, 1);
    private readonly SemaphoreSlim _collectLock = new(1, 1);
    private readonly Lock _runLock = new();
    private readonly ResiliencePipeline _reconnectPipeline;
    private readonly ResiliencePipeline _immediatePipeline;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _runCts;
    private CancellationTokenSource? _kickCts;
    private Task? _loop;
    private volatile string? _overrideToken;
    private volatile bool _stoppedByApp; // written under _runLock
    private volatile SyncState _state = SyncState.Stopped;
    private volatile string? _lastError;
    private int _inFlightCap = int.MaxValue;
    private volatile bool _probeOneAtATime; // after a non-transient failure: one batch in flight until an ack
    private int _disposed;
    private int _processingAcks; // acks, and dispatches that may quarantine, whose events are not raised yet
    private IReadOnlyCollection<long> _lastFailedIds = [];

    private HealthSyncClient(HealthSyncOptions options, SyncStore store, string deviceId)
    {
        _options = options;
        _store = store;
        _connection = Connection.Create(options);
        DeviceId = deviceId;
        _credentials = options.CredentialsProvider ?? new StaticCredentialsProvider(options.AccessToken);
        _logger = options.LoggerFactory?.CreateLogger("HealthGrpc.Client.HealthSyncClient") ?? (Microsoft.Extensions.Logging.ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        _reconnectPipeline = SyncPipelines.Reconnect<TransientSyncException>(options, OnReconnectRetryAsync);
        _immediatePipeline = SyncPipelines.Immediate(options);
    }

    /// <summary>The stable device id of this installation.</summary>
    public string DeviceId { get; }

    /// <summary>Path of the local database.</summary>
    public string DatabasePath => _store.Path;

    /// <summary>The local store (tests hook its SQLite connection).</summary>
    internal SyncStore Store => _store;

    /// <summary>The engine's current state.</summary>
    public SyncState State => _state;

    /// <summary>
    /// Opens (or creates) the local store. A new store gets a device id (<see cref="HealthSyncOptions.DeviceId"/> or a new
    /// one) and, on first contact with the server, a new epoch and the server's committed anchors (<c>GetCheckpoint</c>).
    /// Does not start syncing: call <see cref="Start"/>.
    /// </summary>
    public static async Task<HealthSyncClient> OpenAsync(HealthSyncOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.ServerAddress);
        ArgumentException.ThrowIfNullOrEmpty(options.DatabasePath);
        if (options.DeviceId is { Length: 0 or > 128 })
        {
            throw new ArgumentException("DeviceId must be 1..128 characters.", nameof(options));
        }

        CheckTransportSecurity(options);
        ProxyRoute.CheckCleartext(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSamplesPerBatch, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchesInFlight, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxNonTransientAttempts, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxQuarantinedBatches, 0, nameof(options));
        var quarantine = new QuarantinePolicy(options.QuarantineRetention, options.MaxQuarantinedBatches);
        var store = await SyncStore.OpenAsync(options.DatabasePath, options.TimeProvider, quarantine, cancellationToken, options.QueueKeyProvider).ConfigureAwait(false);
        try
        {
            var account = await BindAccountAsync(store, options.AccountId, cancellationToken).ConfigureAwait(false);
            var device = await store.GetDeviceAsync(cancellationToken).ConfigureAwait(false)
                ?? await store.InitializeDeviceAsync(options.DeviceId ?? Guid.NewGuid().ToString(), cancellationToken).ConfigureAwait(false);
            return new HealthSyncClient(options, store, device.DeviceId) { AccountId = account };
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts the background sync engine (idempotent). It sends whenever the queue holds work.</summary>
    public void Start()
    {
        lock (_runLock)
        {
            _stoppedByApp = false;
            StartLocked();
        }
    }

    /// <summary>
    /// Starts the engine for a call that needs it (<see cref="SendImmediateAsync"/>, <see cref="DrainAsync"/>,
    /// <see cref="WaitUntilDrainedAsync"/>), unless the app stopped it: a stopped engine stays stopped until <see cref="Start"/>.
    /// Returns false when it is stopped.
    /// </summary>
    private bool StartUnlessStopped()
    {
        lock (_runLock)
        {
            if (_stoppedByApp)
            {
                return false;
            }

            StartLocked();
            return true;
        }
    }

    private void ThrowIfStopped()
    {
        if (!StartUnlessStopped())
        {
            throw new SyncStoppedException("The sync engine was stopped by StopAsync and stays stopped until Start is called; nothing is sent.");
        }
    }

    private void StartLocked()
    {
        if (_loop is { IsCompleted: false })
        {
            return;
        }

        _runCts?.Dispose();
        _runCts = new CancellationTokenSource();
        _state = SyncState.Idle;
        var token = _runCts.Token;
        _loop = Task.Run(() => RunLoopAsync(token), CancellationToken.None);
    }

    /// <summary>
    /// Stops the engine: closes the stream (unacknowledged batches stay queued and are resent later). It stays stopped
    /// until <see cref="Start"/>: enqueues are still stored, <see cref="SendImmediateAsync"/> only enqueues, and
    /// <see cref="DrainAsync"/> / <see cref="WaitUntilDrainedAsync"/> throw <see cref="SyncStoppedException"/>.
    /// </summary>
    public async Task StopAsync()
    {
        Task? loop;
        lock (_runLock)
        {
            _stoppedByApp = true;
            loop = _loop;
            _runCts?.Cancel();
        }

        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        if (_state != SyncState.Fenced)
        {
            _state = SyncState.Stopped;
        }
    }

    /// <summary>Stops the engine and closes the store and the channel (idempotent).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        _connection.Dispose();
        await _store.DisposeAsync().ConfigureAwait(false);
        _runCts?.Dispose();
        _restoreLock.Dispose();
        _collectLock.Dispose();
    }

    /// <summary>Wakes the engine: signals work, and cuts a running backoff short so that it reconnects at once.</summary>
    private void Kick()
    {
        _work.Set();
        try
        {
            Volatile.Read(ref _kickCts)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
