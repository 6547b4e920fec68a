using HealthGrpc.Storage;

namespace HealthGrpc.Server.Retention;

/// <summary>
/// Runs retention in the background: every <see cref="RetentionOptions.Interval"/> it purges, type by type, the raw
/// items older than the type's limit, then compacts the stored acks older than <see cref="RetentionOptions.AckDays"/>,
/// each as bounded batches queued one at a time with the ingest commits (ingest waits at most for one batch).
/// </summary>
internal sealed partial class RetentionService(
    IRetentionStore store, RetentionOptions options, TimeProvider clock, ILogger<RetentionService> logger) : BackgroundService
{
    private readonly IReadOnlyDictionary<int, int> _daysByType = options.DaysByType();
    private readonly SemaphoreSlim _sweeping = new(1, 1);
    // Where the ack compaction continues: batch rows examined once are not read again. Loaded from a store that keeps
    // it (IRetentionProgressStore) at the first sweep, so a restart neither examines everything again nor skips a batch.
    private long? _ackPosition;

    /// <summary>One sweep (also what the loop runs); returns the raw items purged and the acks compacted.</summary>
    public async Task<(long Purged, long AcksCompacted)> SweepAsync(CancellationToken ct)
    {
        await _sweeping.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var now = clock.GetUtcNow();
            var batchRows = Math.Max(1, options.BatchRows);
            long purged = 0;
            foreach (var (type, days) in _daysByType)
            {
                var before = (now - TimeSpan.FromDays(days)).ToUnixTimeMilliseconds();
                PurgeResult result;
                do
                {
                    result = await store.PurgeAsync(type, before, batchRows, ct).ConfigureAwait(false);
                    purged += result.Purged;
                }
                while (result.More);
            }

            long compacted = 0;
            if (options.AckDays > 0)
            {
                var before = (now - TimeSpan.FromDays(options.AckDays)).ToUnixTimeMilliseconds();
                _ackPosition ??= store is IRetentionProgressStore progress ? await progress.GetAckCompactionPositionAsync(ct).ConfigureAwait(false) : 0;
                AckCompaction step;
                do
                {
                    step = await store.CompactAcksAsync(before, _ackPosition.Value, batchRows, ct).ConfigureAwait(false);
                    compacted += step.Compacted;
                    _ackPosition = step.Position;
                }
                while (!step.Done);
            }

            return (purged, compacted);
        }
        finally
        {
            _sweeping.Release();
        }
    }

    public override void Dispose()
    {
        _sweeping.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_daysByType.Count == 0 && options.AckDays <= 0)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (purged, compacted) = await SweepAsync(stoppingToken).ConfigureAwait(false);
                LogSwept(purged, compacted);
            }
            catch (HealthStoreUnavailableException error)
            {
                // The store recovers (or the server stops): the next sweep tries again.
                LogFailed(error);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(options.Interval, clock, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention sweep: {Purged} raw items purged, {Compacted} stored acks compacted.")]
    private partial void LogSwept(long purged, long compacted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention sweep failed; retrying at the next interval.")]
    private partial void LogFailed(Exception error);
}
