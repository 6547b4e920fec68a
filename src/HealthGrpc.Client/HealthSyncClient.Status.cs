using System.Globalization;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>What a UI shows: the status snapshot, the queue and anchors, and the event stream.</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>
    /// Queue, ack, anchor, quarantine, retry and connection events for a UI. Raised on a thread-pool thread, never on the
    /// caller's <see cref="SynchronizationContext"/> (a UI app marshals to its UI thread itself, e.g.
    /// <c>Dispatcher.Dispatch</c>); handlers must return quickly and must not throw (exceptions are swallowed).
    /// </summary>
    public event EventHandler<SyncEvent>? Events;

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

    /// <summary>Runs SQLite's <c>PRAGMA integrity_check</c> on the local store ("ok" when healthy).</summary>
    public Task<string> CheckIntegrityAsync(CancellationToken cancellationToken = default) => _store.IntegrityCheckAsync(cancellationToken);

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
}
