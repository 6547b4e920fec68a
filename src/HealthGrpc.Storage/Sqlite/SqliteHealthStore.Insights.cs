namespace HealthGrpc.Storage.Sqlite;

/// <summary>Insights (<see cref="SqliteInsights"/>: short transactions of their own, outside the group commit).</summary>
public sealed partial class SqliteHealthStore : IInsightStore
{
    private SqliteInsights? _insightStore;

    // Stateless over the file: created on first use, a second instance from a racing first use is harmless.
    private SqliteInsights InsightStore => _insightStore ??= new SqliteInsights(_path, _options.BusyTimeout);

    public async Task<InsightReconciliation> ReconcileInsightsAsync(string userId, IReadOnlyList<InsightFinding> findings, long nowUnixMs, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var result = await InsightStore.ReconcileAsync(userId, findings, nowUnixMs, ct).ConfigureAwait(false);
        if (result.Changed)
        {
            // Committed: live subscriptions of the user wake and read the insight changes.
            ChangeNotifications.Publish([userId]);
        }

        return result;
    }

    public Task<IReadOnlyList<InsightRecord>> ListInsightsAsync(InsightQuery query, CancellationToken ct) => InsightStore.ListAsync(query, ct);

    public async Task<InsightRecord?> AcknowledgeInsightAsync(string userId, string insightId, long nowUnixMs, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var insight = await InsightStore.AcknowledgeAsync(userId, insightId, nowUnixMs, ct).ConfigureAwait(false);
        if (insight is not null)
        {
            ChangeNotifications.Publish([userId]);
        }

        return insight;
    }

    public Task<string?> GetInsightTimeZoneAsync(string userId, CancellationToken ct) => InsightStore.GetTimeZoneAsync(userId, ct);

    public Task<bool> SetInsightTimeZoneAsync(string userId, string? timeZoneId, CancellationToken ct) => InsightStore.SetTimeZoneAsync(userId, timeZoneId, ct);

    public Task<PurgeResult> PurgeInsightsAsync(long beforeUnixMs, int maxRows, CancellationToken ct) => InsightStore.PurgeAsync(beforeUnixMs, maxRows, ct);
}
