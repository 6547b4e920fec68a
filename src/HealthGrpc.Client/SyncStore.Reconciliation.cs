using System.Globalization;

namespace HealthGrpc.Client;

/// <summary>The reconciliation's bookkeeping in <c>meta</c>: the last complete drain and the last reconciliation's counts.</summary>
internal sealed partial class SyncStore
{
    private const string LastCompleteSyncKey = "last_complete_sync_ms";
    private const string CreatedKey = "created_ms";
    private const string LastReconciliationKey = "last_reconciliation";

    /// <summary>When the last complete drain ended, or (before the first one) when the store was created; null if unknown.</summary>
    public async Task<DateTimeOffset?> GetLastCompleteSyncAsync(CancellationToken ct)
    {
        var meta = await ReadMetaLockedAsync(ct).ConfigureAwait(false);
        return (meta.GetValueOrDefault(LastCompleteSyncKey) ?? meta.GetValueOrDefault(CreatedKey)) is { } ms
            ? DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture))
            : null;
    }

    public Task RecordCompleteSyncAsync(DateTimeOffset time, CancellationToken ct) =>
        WriteMetaAsync(LastCompleteSyncKey, time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), ct);

    /// <summary>Stored as "time_ms compared resent server_more samples" (invariant integers).</summary>
    public Task RecordReconciliationAsync(ReconciliationSummary summary, CancellationToken ct) =>
        WriteMetaAsync(
            LastReconciliationKey,
            string.Create(CultureInfo.InvariantCulture, $"{summary.Time.ToUnixTimeMilliseconds()} {summary.DaysCompared} {summary.DaysResent} {summary.DaysServerHasMore} {summary.SamplesResent}"),
            ct);

    public async Task<ReconciliationSummary?> GetLastReconciliationAsync(CancellationToken ct)
    {
        var meta = await ReadMetaLockedAsync(ct).ConfigureAwait(false);
        if (meta.GetValueOrDefault(LastReconciliationKey) is not { } value)
        {
            return null;
        }

        var f = value.Split(' ');
        return new ReconciliationSummary(
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(f[0], CultureInfo.InvariantCulture)),
            int.Parse(f[1], CultureInfo.InvariantCulture),
            int.Parse(f[2], CultureInfo.InvariantCulture),
            int.Parse(f[3], CultureInfo.InvariantCulture),
            long.Parse(f[4], CultureInfo.InvariantCulture));
    }
}
