namespace HealthGrpc.Storage.Postgres;

/// <summary>Quota overrides and usage (<see cref="PgUsage"/>: reads of what the group commits already write).</summary>
public sealed partial class PostgresHealthStore : IQuotaStore
{
    public Task<QuotaOverride?> GetQuotaOverrideAsync(string userId, CancellationToken ct) => RunAsync(() => _usage.GetQuotaOverrideAsync(userId, ct));

    public Task<bool> SetQuotaOverrideAsync(string userId, QuotaOverride quota, CancellationToken ct) =>
        RunAsync(() => _usage.SetQuotaOverrideAsync(userId, quota, ct));

    public Task<QuotaUsage> GetUsageAsync(string userId, long sinceUnixMs, bool withStoredBytes, CancellationToken ct) =>
        RunAsync(() => _usage.GetUsageAsync(userId, sinceUnixMs, withStoredBytes, ct));
}
