using System.Globalization;
using System.Collections.Concurrent;
using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Polly;
using Polly.Retry;
using Polly.Timeout;

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
    private volatile bool _probeOneAtATime;
    private int _disposed; // after a non-transient failure: one batch in flight until an ack
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

        _reconnectPipeline = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TransientSyncException>(),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = async args =>
                {
                    _state = SyncState.BackingOff;
                    var error = args.Outcome.Exception?.InnerException ?? args.Outcome.Exception;
                    _lastError = error?.Message;
                    var next = _options.TimeProvider.GetUtcNow() + args.RetryDelay;
                    await _store.RecordAttemptFailureAsync(Interlocked.Exchange(ref _lastFailedIds, []), error?.Message ?? "failed", next, CancellationToken.None).ConfigureAwait(false);
                    Emit(new SyncEvent { Kind = SyncEventKind.RetryScheduled, RetryDelay = args.RetryDelay, Attempt = args.AttemptNumber + 1, Error = error, Message = error?.Message });
                },
            })
            .Build();

        var delays = options.ImmediateRetryDelays.Count > 0 ? options.ImmediateRetryDelays : [TimeSpan.Zero];
        var builder = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider };
        if (delays.Count > 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = delays.Count - 1,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(delays[Math.Min(args.AttemptNumber + 1, delays.Count - 1)]),
            });
        }

        _immediatePipeline = builder.AddTimeout(options.ImmediateAttemptTimeout).Build();
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
    /// Queue, ack, anchor, quarantine, retry and connection events for a UI. Raised on a thread-pool thread, never on the
    /// caller's <see cref="SynchronizationContext"/> (a UI app marshals to its UI thread itself, e.g.
    /// <c>Dispatcher.Dispatch</c>); handlers must return quickly and must not throw (exceptions are swallowed).
    /// </summary>
    public event EventHandler<SyncEvent>? Events;

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

    /// <summary>
    /// Replaces the bearer token with a refreshed one of the same account and resumes a paused engine. With an
    /// <see cref="HealthSyncOptions.CredentialsProvider"/>, the token is used in its place only until the server refuses it
    /// or the app calls <see cref="NotifyCredentialsChanged"/>: then the provider is asked again. For a token whose account
    /// the SDK should check, use <see cref="UpdateToken(string, string)"/>; to switch accounts, <see cref="SignOutAsync"/>.
    /// </summary>
    public void UpdateToken(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        if (_credentials is StaticCredentialsProvider s)
        {
            s.Token = token;
        }
        else
        {
            _overrideToken = token;
        }

        WakeOnNewCredentials();
    }

    /// <summary>
    /// Tells the engine that the <see cref="ICredentialsProvider"/> has a new token: it is asked again (a token given with
    /// <see cref="UpdateToken(string)"/> stops taking its place) and a paused engine resumes.
    /// </summary>
    public void NotifyCredentialsChanged()
    {
        _overrideToken = null;
        WakeOnNewCredentials();
    }

    private void WakeOnNewCredentials()
    {
        _credentialsChanged.Set();
        Kick();
    }

    /// <summary>
    /// Push API for live readings and app-provided data (no source anchor): stores the content durably in one transaction,
    /// split into batches of at most <see cref="HealthSyncOptions.MaxSamplesPerBatch"/> items. When this returns, a crash at
    /// any later point loses nothing. Samples without a uuid get a new random one here, so that resends deduplicate.
    /// </summary>
    /// <exception cref="QueueFullException">The queue bounds would be exceeded; nothing was stored.</exception>
    public Task<EnqueueResult> EnqueueAsync(
        IReadOnlyList<SampleSet> sampleSets, IReadOnlyList<Deletion>? deletions = null, SyncTier tier = SyncTier.Batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampleSets);
        AssignMissingUuids(sampleSets);
        return EnqueueCoreAsync(sampleSets, deletions, null, tier, atomic: false, null, cancellationToken);
    }

    /// <summary>Push API for one live reading (a BLE sensor). See <see cref="EnqueueAsync"/>.</summary>
    /// <param name="type">The data type.</param>
    /// <param name="value">The value in <paramref name="unit"/> (empty unit: the type's canonical unit).</param>
    /// <param name="time">When the reading was taken.</param>
    /// <param name="source">The recording device.</param>
    /// <param name="unit">The unit.</param>
    /// <param name="urgent">True: tier 1 (sent first), otherwise the type's tier.</param>
    /// <param name="cancellationToken">Cancels the enqueue (nothing stored when cancelled before the commit).</param>
    public Task<EnqueueResult> EnqueueReadingAsync(
        DataType type, double value, DateTimeOffset time, Source source, string unit = "", bool urgent = false, CancellationToken cancellationToken = default)
    {
        var set = new SampleSet
        {
            Type = type,
            Unit = unit,
            Source = source,
            BaseTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(time),
            ZoneOffsetMinutes = (int)time.Offset.TotalMinutes,
        };
        set.Samples.Add(new Sample { Uuid = Contracts.SampleUuid.ToByteString(Guid.CreateVersion7()), DoubleValue = value });
        return EnqueueCoreAsync([set], null, null, urgent ? SyncTier.Immediate : _options.TierOf(type), false, null, cancellationToken);
    }

    /// <summary>
    /// Tier 1: enqueues durably, then tries to deliver now: <see cref="HealthSyncOptions.ImmediateRetryDelays"/> (0 s, 1 s,
    /// 3 s) tries of <see cref="HealthSyncOptions.ImmediateAttemptTimeout"/> (10 s) each, each try waking the engine (and
    /// skipping any backoff). Starts the engine if needed. When the tries fail the data stays queued for the drain.
    /// </summary>
    /// <exception cref="QueueFullException">The queue bounds would be exceeded; nothing was stored.</exception>
    public async Task<ImmediateResult> SendImmediateAsync(
        IReadOnlyList<SampleSet> sampleSets, IReadOnlyList<Deletion>? deletions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampleSets);
        AssignMissingUuids(sampleSets);
        var waiters = new List<(long Id, TaskCompletionSource<Ack?> Tcs)>();
        var enqueue = await EnqueueCoreAsync(sampleSets, deletions, null, SyncTier.Immediate, atomic: false, ids =>
        {
            foreach (var id in ids)
            {
                var tcs = new TaskCompletionSource<Ack?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters[id] = tcs;
                waiters.Add((id, tcs));
            }
        }, cancellationToken).ConfigureAwait(false);
        var attempts = 0;
        if (!StartUnlessStopped())
        {
            foreach (var (id, _) in waiters)
            {
                _waiters.TryRemove(id, out _);
            }

            return new ImmediateResult(enqueue, false, [], 0);
        }

        try
        {
            var all = Task.WhenAll(waiters.Select(w => w.Tcs.Task));
            var initial = _options.ImmediateRetryDelays.Count > 0 ? _options.ImmediateRetryDelays[0] : TimeSpan.Zero;
            if (initial > TimeSpan.Zero)
            {
                await Task.Delay(initial, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }

            await _immediatePipeline.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    Kick();
                    await all.WaitAsync(token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            // Not acked within the quick tries: the batches stay queued for the drain.
        }
        finally
        {
            foreach (var (id, _) in waiters)
            {
                _waiters.TryRemove(id, out _);
            }
        }

        var acks = new List<Ack>();
        var delivered = true;
        foreach (var (_, tcs) in waiters)
        {
            if (tcs.Task.IsCompletedSuccessfully && tcs.Task.Result is { } ack)
            {
                acks.Add(ack);
                delivered &= ack.Outcome != AckOutcome.Rejected;
            }
            else
            {
                delivered = false;
            }
        }

        return new ImmediateResult(enqueue, delivered, acks, attempts);
    }

    /// <summary>
    /// Tier 3 drain (app in the foreground, network back): collects the sources, optionally enqueues the 24 h catch-up
    /// re-read, starts the engine and waits until nothing is pending (failed batches excepted) or the token fires. When
    /// the last complete drain is <see cref="HealthSyncOptions.ReconciliationInterval"/> (48 h) old or older, it then
    /// reconciles (<see cref="ReconcileAsync"/>) and drains what that enqueued; a reconciliation the server cannot answer
    /// is reported as <see cref="SyncEventKind.ReconciliationFailed"/>, not thrown.
    /// </summary>
    /// <exception cref="SyncStoppedException">The app stopped the engine (<see cref="StopAsync"/>): call <see cref="Start"/> first.</exception>
    public async Task<SyncStatus> DrainAsync(bool includeCatchUp = true, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        var reconcile = await ReconciliationDueAsync(cancellationToken).ConfigureAwait(false);
        await CollectAsync(cancellationToken).ConfigureAwait(false);
        if (includeCatchUp)
        {
            await EnqueueCatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        await WaitUntilDrainedAsync(cancellationToken).ConfigureAwait(false);
        if (reconcile)
        {
            await ReconcileInDrainAsync(cancellationToken).ConfigureAwait(false);
        }

        await _store.RecordCompleteSyncAsync(_options.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return await GetStatusAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until no batch is pending or in flight (quarantined batches are not waited for). Starts the engine if needed.</summary>
    /// <exception cref="InstallationFencedException">The installation is fenced: it will never drain.</exception>
    /// <exception cref="SyncStoppedException">The app stopped the engine (<see cref="StopAsync"/>): call <see cref="Start"/> first.</exception>
    public async Task WaitUntilDrainedAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        Kick();
        while (true)
        {
            var progress = Volatile.Read(ref _progress).Task;
            var counts = await _store.GetCountsAsync(cancellationToken).ConfigureAwait(false);
            if (counts.PendingBatches == 0 && Volatile.Read(ref _processingAcks) == 0)
            {
                return;
            }

            if (_state == SyncState.Fenced)
            {
                throw new InstallationFencedException();
            }

            if (_stoppedByApp)
            {
                throw new SyncStoppedException("The sync engine was stopped by StopAsync while waiting for the queue to drain.");
            }

            try
            {
                await progress.WaitAsync(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>A snapshot of the queue, the anchors and the engine for a UI.</summary>
    public async Task<SyncStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var counts = await _store.GetCountsAsync(cancellationToken).ConfigureAwait(false);
        var device = await _store.GetDeviceAsync(cancellationToken).ConfigureAwait(false);
        var anchors = await _store.GetCommittedAnchorsAsync(cancellationToken).ConfigureAwait(false);
        var lastSync = await _store.GetMetaAsync("last_sync_ms", cancellationToken).ConfigureAwait(false);
        var now = _options.TimeProvider.GetUtcNow();
        return new SyncStatus
        {
            State = _state,
            DeviceId = DeviceId,
            Epoch = device?.Epoch ?? 0,
            PendingBatches = counts.PendingBatches,
            PendingSamples = counts.PendingSamples,
            QuarantinedBatches = counts.QuarantinedBatches,
            QuarantinedSamples = counts.QuarantinedSamples,
            QueuedBytes = counts.QueuedBytes,
            OldestPendingAge = counts.OldestPending is { } oldest ? now - oldest : null,
            LastSuccessfulSync = lastSync is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(lastSync, CultureInfo.InvariantCulture)),
            CommittedAnchors = anchors,
            LastError = _lastError,
            LastReconciliation = await _store.GetLastReconciliationAsync(cancellationToken).ConfigureAwait(false),
        };
    }

    /// <summary>The committed anchor per data type.</summary>
    public Task<IReadOnlyList<CommittedAnchor>> GetCommittedAnchorsAsync(CancellationToken cancellationToken = default) =>
        _store.GetCommittedAnchorsAsync(cancellationToken);

    /// <summary>Queued batches (all, or of one status), in sending order, at most <paramref name="limit"/>.</summary>
    public Task<IReadOnlyList<QueuedBatchInfo>> GetQueuedBatchesAsync(QueuedBatchStatus? status = null, int limit = 100, CancellationToken cancellationToken = default) =>
        _store.ListAsync(status, limit, cancellationToken);

    /// <summary>The content of a queued batch (e.g. a quarantined one), or null.</summary>
    public Task<Batch?> GetQueuedBatchContentAsync(long batchId, CancellationToken cancellationToken = default) =>
        _store.GetBatchAsync(batchId, cancellationToken);

    /// <summary>
    /// The quarantine, oldest first: what the SDK holds instead of delivering, each with its reason (and the server's
    /// reason code for a rejected item). Page with <paramref name="afterId"/> (the last <see cref="QuarantinedItem.Id"/> seen).
    /// </summary>
    public Task<IReadOnlyList<QuarantinedItem>> GetQuarantineAsync(long afterId = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _store.GetQuarantineAsync(afterId, limit, cancellationToken);
    }

    /// <summary>
    /// Writes the whole quarantine to <paramref name="destination"/> as JSON lines (UTF-8), one object per quarantined
    /// batch: <c>id</c>, <c>tier</c>, <c>items</c>, <c>reason</c>, <c>rejectReason</c>, <c>enqueuedAt</c>,
    /// <c>quarantinedAt</c> and <c>content</c> (the batch in the protobuf JSON mapping). Returns how many were written.
    /// </summary>
    public Task<int> ExportQuarantineAsync(Stream destination, CancellationToken cancellationToken = default) =>
        QuarantineExport.WriteAsync(_store, destination, cancellationToken);

    /// <summary>
    /// Moves every quarantined batch back to pending so that it is sent again (e.g. after an app or server update fixed
    /// the cause). A rejected item is rejected again unless the cause is gone, and quarantined again: no loop. Returns how many.
    /// </summary>
    public async Task<int> RetryQuarantinedAsync(CancellationToken cancellationToken = default)
    {
        var n = await _store.RetryQuarantinedAsync(cancellationToken).ConfigureAwait(false);
        Kick();
        return n;
    }

    /// <summary>Runs SQLite's <c>PRAGMA integrity_check</c> on the local store ("ok" when healthy).</summary>
    public Task<string> CheckIntegrityAsync(CancellationToken cancellationToken = default) => _store.IntegrityCheckAsync(cancellationToken);

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

    // ------------------------------------------------------------------------------------------------

    private Task<EnqueueResult> EnqueueCoreAsync(
        IReadOnlyList<SampleSet> sets, IReadOnlyList<Deletion>? deletions, IReadOnlyList<SourceAnchor>? anchors,
        SyncTier tier, bool atomic, Action<IReadOnlyList<long>>? onCommitted, CancellationToken ct) =>
        EnqueueBatchesAsync(BatchBuilder.Split(sets, deletions, anchors, tier, atomic, _options.MaxSamplesPerBatch), tier, onCommitted, ct);

    private Task<EnqueueResult> EnqueueCoreAsync(
        HealthContent content, IReadOnlyList<SourceAnchor>? anchors, SyncTier tier, bool atomic, Action<IReadOnlyList<long>>? onCommitted, CancellationToken ct) =>
        EnqueueBatchesAsync(BatchBuilder.Split(content, anchors, tier, atomic, _options.MaxSamplesPerBatch), tier, onCommitted, ct);

    private async Task<EnqueueResult> EnqueueBatchesAsync(
        List<(Batch Batch, SyncTier Tier, int Items)> batches, SyncTier tier, Action<IReadOnlyList<long>>? onCommitted, CancellationToken ct,
        Func<Microsoft.Data.Sqlite.SqliteTransaction, CancellationToken, Task>? prepare = null)
    {
        if (batches.Count == 0)
        {
            return new EnqueueResult([], 0);
        }

        var ids = await _store.EnqueueAsync(batches, _options.MaxQueuedSamples, _options.MaxQueuedBytes, onCommitted, ct, prepare).ConfigureAwait(false);
        var items = 0;
        for (var i = 0; i < batches.Count; i++)
        {
            items += batches[i].Items;
            Emit(new SyncEvent { Kind = SyncEventKind.Queued, BatchId = ids[i], Tier = tier, SampleCount = batches[i].Items });
        }

        _work.Set();
        return new EnqueueResult(ids, items);
    }

    private static void AssignMissingUuids(IReadOnlyList<SampleSet> sets)
    {
        foreach (var set in sets)
        {
            ArgumentNullException.ThrowIfNull(set);
            foreach (var sample in set.Samples)
            {
                if (sample.Uuid.IsEmpty)
                {
                    sample.Uuid = Contracts.SampleUuid.ToByteString(Guid.CreateVersion7());
                }
            }
        }
    }

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

    /// <summary>Replaces the channel, so that the next call opens a new connection (a half-dead one may still look open).</summary>
    private void ResetChannel()
    {
        var old = _connection;
        _connection = Connection.Create(_options);
        old.Dispose();
    }

    private void PulseProgress()
    {
        var old = Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        old.TrySetResult();
    }

#pragma warning disable CA1031 // A UI handler's exception must never break the engine.
    private void Emit(SyncEvent e)
    {
        try
        {
            e = e with { Time = _options.TimeProvider.GetUtcNow() };
            SyncEventLog.Write(_logger, e);
            Events?.Invoke(this, e);
        }
        catch (Exception)
        {
        }
    }
#pragma warning restore CA1031

    private static Metadata AuthHeaders(string token) => new() { { "authorization", "Bearer " + token } };

    /// <summary>
    /// The server's <see cref="ErrorDetail"/>, from the standard <c>grpc-status-details-bin</c> trailer: a
    /// <c>google.rpc.Status</c> whose <c>details</c> hold it packed as <c>google.protobuf.Any</c>. Null when absent or unreadable.
    /// </summary>
    internal static ErrorDetail? ReadErrorDetail(RpcException error)
    {
        try
        {
            return error.GetRpcStatus()?.GetDetail<ErrorDetail>();
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>Refuses an <c>http://</c> address to a non-loopback host unless <see cref="HealthSyncOptions.AllowInsecureChannel"/>.</summary>
    private static void CheckTransportSecurity(HealthSyncOptions options)
    {
        var address = options.ServerAddress;
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"ServerAddress must be an absolute https:// (or http://) address, not '{address}'.", nameof(options));
        }

        if (address.Scheme == Uri.UriSchemeHttp && !address.IsLoopback && !options.AllowInsecureChannel)
        {
            throw new ArgumentException(
                $"ServerAddress '{address}' is http:// (no TLS) to a non-loopback host: the bearer token would travel in clear. " +
                $"Use https://, or set {nameof(HealthSyncOptions)}.{nameof(HealthSyncOptions.AllowInsecureChannel)} = true to allow it explicitly.",
                nameof(options));
        }
    }

    /// <summary>A channel and the generated client on it; replaced as a whole by <see cref="ResetChannel"/>.</summary>
    private sealed class Connection(GrpcChannel channel) : IDisposable
    {
        public SyncService.SyncServiceClient Client { get; } = new(channel);

        public QueryService.QueryServiceClient Query { get; } = new(channel);

        public static Connection Create(HealthSyncOptions options)
        {
            var channelOptions = new GrpcChannelOptions();
            options.ConfigureChannel?.Invoke(channelOptions);
            // The engine tells a stop (OperationCanceledException) from a failed call (RpcException).
            channelOptions.ThrowOperationCanceledOnCancellation = true;
            if (channelOptions.HttpHandler is null && channelOptions.HttpClient is null)
            {
                channelOptions.HttpHandler = new SocketsHttpHandler
                {
                    KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                    KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
                    KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                    ConnectTimeout = TimeSpan.FromSeconds(30),
                    EnableMultipleHttp2Connections = true,
                };
                channelOptions.DisposeHttpClient = true;
            }

            return new Connection(GrpcChannel.ForAddress(options.ServerAddress, channelOptions));
        }

        public void Dispose() => channel.Dispose();
    }

    private sealed class TransientSyncException(string message, Exception? inner) : Exception(message, inner);

    private sealed class UnauthenticatedSyncException(string? token, Exception? inner) : Exception("UNAUTHENTICATED", inner)
    {
        public string? Token { get; } = token;
    }

    private sealed class FencedSyncException(string message, Exception? inner) : Exception(message, inner);
}
