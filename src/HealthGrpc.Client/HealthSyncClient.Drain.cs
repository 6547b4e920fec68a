
namespace HealthGrpc.Client;

/// <summary>Tier 3: the drain (collect, catch-up, send everything, reconcile when due) and waiting for an empty queue.</summary>
public sealed partial class HealthSyncClient
{
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

    private void PulseProgress()
    {
        var old = Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        old.TrySetResult();
    }
}
