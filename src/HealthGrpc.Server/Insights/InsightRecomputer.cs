using System.Collections.Concurrent;
using HealthGrpc.Storage;
using NodaTime;

namespace HealthGrpc.Server.Insights;

/// <summary>
/// Recomputes users' insights in the background, never on the ingest path: the store's commit notification (the one
/// the change feed wakes on, raised after each durable commit) only marks the committed users pending and returns. One
/// worker then takes the pending users in order, each at most once however many commits named it (coalesced), after
/// <see cref="InsightOptions.SettleDelay"/>; a recompute is bounded (<see cref="DailyFigureReader"/>: 67 days of four
/// types) and writes only the insights whose state changed (<see cref="IInsightStore.ReconcileInsightsAsync"/>). The
/// notification names users, not types, so any commit of a user recomputes all of their kinds; one that did not touch
/// their figures writes nothing. The notification of the recomputer's own write is recognised by the user's change
/// sequence and skipped. Every <see cref="InsightOptions.RefreshInterval"/> all users are recomputed (the windows move
/// with time) and insights past <see cref="InsightOptions.RetentionDays"/> are purged.
/// </summary>
internal sealed partial class InsightRecomputer(
    IHealthStore store, IInsightStore insights, DailyFigureReader figures, InsightOptions options, TimeProvider clock, ILogger<InsightRecomputer> logger)
    : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly Queue<(string UserId, long RequestedTicks)> _queue = new();
    private readonly SemaphoreSlim _ready = new(0);
    // The user's change sequence right after this recomputer's last write for them: a notification finding it unchanged is our own.
    private readonly ConcurrentDictionary<string, long> _ownWrites = new(StringComparer.Ordinal);

    /// <summary>Marks the user for a recompute (no-op while one is already pending); returns at once.</summary>
    public void Request(string userId)
    {
        lock (_gate)
        {
            if (!_pending.Add(userId))
            {
                return;
            }

            _queue.Enqueue((userId, clock.GetTimestamp()));
        }

        _ready.Release();
    }

    /// <summary>Recomputes one user's insights now (the worker's step; also the tests' and the zone change's entry).</summary>
    public async Task<InsightReconciliation> RecomputeAsync(string userId, CancellationToken ct)
    {
        var readAt = await store.GetChangeSequenceAsync(userId, ct).ConfigureAwait(false);
        var zone = await ZoneAsync(userId, ct).ConfigureAwait(false);
        var daily = await figures.ReadAsync(userId, zone, ct).ConfigureAwait(false);
        var result = await insights.ReconcileInsightsAsync(userId, InsightRules.Evaluate(daily), clock.GetUtcNow().ToUnixTimeMilliseconds(), ct)
            .ConfigureAwait(false);
        if (result.Changed)
        {
            // Only when nothing else committed for the user since the figures were read: then the notification of this
            // write is ours alone. Otherwise the commit in between still gets its recompute.
            if (result.ChangeSequence - (result.Raised + result.Updated + result.Closed) == readAt)
            {
                _ownWrites[userId] = result.ChangeSequence;
            }

            LogReconciled(userId, result.Raised, result.Updated, result.Closed);
        }

        return result;
    }

    /// <summary>Purges the insights past retention; returns how many.</summary>
    public async Task<long> PurgeExpiredAsync(CancellationToken ct)
    {
        if (options.RetentionDays <= 0)
        {
            return 0;
        }

        var before = (clock.GetUtcNow() - TimeSpan.FromDays(options.RetentionDays)).ToUnixTimeMilliseconds();
        long purged = 0;
        PurgeResult step;
        do
        {
            step = await insights.PurgeInsightsAsync(before, Math.Max(1, options.PurgeBatchRows), ct).ConfigureAwait(false);
            purged += step.Purged;
        }
        while (step.More);
        return purged;
    }

    public override void Dispose()
    {
        _ready.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var listening = store.ChangeNotifications.Listen(OnCommitted);
        var refreshing = RefreshLoopAsync(stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _ready.WaitAsync(stoppingToken).ConfigureAwait(false);
                (string UserId, long RequestedTicks) next;
                lock (_gate)
                {
                    next = _queue.Dequeue();
                }

                var settled = options.SettleDelay - clock.GetElapsedTime(next.RequestedTicks);
                if (settled > TimeSpan.Zero)
                {
                    await Task.Delay(settled, clock, stoppingToken).ConfigureAwait(false);
                }

                // No longer pending before the read: a commit from now on asks for another recompute.
                lock (_gate)
                {
                    _pending.Remove(next.UserId);
                }

                await RecomputeLoggedAsync(next.UserId, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await refreshing.ConfigureAwait(false);
    }

    private void OnCommitted(IReadOnlyCollection<string> userIds)
    {
        foreach (var userId in userIds)
        {
            Request(userId);
        }
    }

    private async Task RecomputeLoggedAsync(string userId, CancellationToken ct)
    {
        try
        {
            if (_ownWrites.TryGetValue(userId, out var written) && await store.GetChangeSequenceAsync(userId, ct).ConfigureAwait(false) == written)
            {
                return;
            }

            await RecomputeAsync(userId, ct).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The next commit of the user, or the next refresh, tries again.
            LogFailed(userId, error);
        }
    }

    private async Task RefreshLoopAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(options.RefreshInterval, clock, ct).ConfigureAwait(false);
                try
                {
                    LogPurged(await PurgeExpiredAsync(ct).ConfigureAwait(false));
                    foreach (var user in await store.ListUsersAsync(ct).ConfigureAwait(false))
                    {
                        Request(user.UserId);
                    }
                }
                catch (HealthStoreUnavailableException error)
                {
                    LogRefreshFailed(error);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task<DateTimeZone> ZoneAsync(string userId, CancellationToken ct) =>
        await insights.GetInsightTimeZoneAsync(userId, ct).ConfigureAwait(false) is { } id
            ? DateTimeZoneProviders.Tzdb.GetZoneOrNull(id) ?? DateTimeZone.Utc
            : DateTimeZone.Utc;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Insights of {UserId}: {Raised} raised, {Updated} updated, {Closed} closed.")]
    private partial void LogReconciled(string userId, int raised, int updated, int closed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recomputing the insights of {UserId} failed; the next commit or refresh retries.")]
    private partial void LogFailed(string userId, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Insight refresh: {Purged} expired insights purged.")]
    private partial void LogPurged(long purged);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Insight refresh failed; retrying at the next interval.")]
    private partial void LogRefreshFailed(Exception error);
}
