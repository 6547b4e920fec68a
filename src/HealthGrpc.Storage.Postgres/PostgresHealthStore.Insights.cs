using Npgsql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// Insights (<see cref="PgInsights"/>): writes queued on the writer loop as transactions of their own, taking the
/// user's lock and next change sequences like an ingest group; reads on pooled connections.
/// </summary>
public sealed partial class PostgresHealthStore : IInsightStore
{
    private PgInsights? _insightStore;

    // Stateless over the data source: created on first use, a second instance from a racing first use is harmless.
    private PgInsights InsightStore => _insightStore ??= new PgInsights(_dataSource);

    public async Task<InsightReconciliation> ReconcileInsightsAsync(string userId, IReadOnlyList<InsightFinding> findings, long nowUnixMs, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        InsightRows.CheckFindings(findings);
        var result = await WriteInsightsAsync(
            (connection, token) => PgInsights.ReconcileAsync(connection, userId, findings, nowUnixMs, token),
            "Storing the insights failed; nothing of it was applied.",
            ct).ConfigureAwait(false);
        if (result.Changed)
        {
            // Committed: this instance's live subscriptions of the user wake (the others heard the NOTIFY).
            ChangeNotifications.Publish([userId]);
        }

        return result;
    }

    public Task<IReadOnlyList<InsightRecord>> ListInsightsAsync(InsightQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        return RunAsync(() => InsightStore.ListAsync(query, ct));
    }

    public async Task<InsightRecord?> AcknowledgeInsightAsync(string userId, string insightId, long nowUnixMs, CancellationToken ct)
    {
        var insight = await WriteInsightsAsync(
            (connection, token) => PgInsights.AcknowledgeAsync(connection, userId, insightId, nowUnixMs, token),
            "Acknowledging the insight failed; nothing of it was applied.",
            ct).ConfigureAwait(false);
        if (insight is not null)
        {
            ChangeNotifications.Publish([userId]);
        }

        return insight;
    }

    public Task<string?> GetInsightTimeZoneAsync(string userId, CancellationToken ct) => RunAsync(() => InsightStore.GetTimeZoneAsync(userId, ct));

    public Task<bool> SetInsightTimeZoneAsync(string userId, string? timeZoneId, CancellationToken ct) =>
        RunAsync(() => InsightStore.SetTimeZoneAsync(userId, timeZoneId, ct));

    public Task<PurgeResult> PurgeInsightsAsync(long beforeUnixMs, int maxRows, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        return WriteInsightsAsync(
            (connection, token) => PgInsights.PurgeAsync(connection, beforeUnixMs, maxRows, token),
            "The insight retention batch failed; nothing of it was applied.",
            ct);
    }

    private Task<T> WriteInsightsAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, string failure, CancellationToken ct)
    {
        var item = new RetentionItem<T>(1, work, ct, failure);
        return EnqueueAsync(item, item.Task, ct);
    }
}
