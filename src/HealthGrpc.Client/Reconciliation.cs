using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>
/// One type × UTC day where what the sources hold and what the server holds of this device differ (count or uuid digest).
/// </summary>
/// <param name="Type">The data type.</param>
/// <param name="Day">The UTC day.</param>
/// <param name="SourceCount">Distinct samples (by uuid) the sources hold for the day.</param>
/// <param name="ServerCount">Samples the server holds for the day from this device.</param>
/// <param name="SamplesResent">Samples of the day enqueued again (catch-up tier; the server deduplicates by uuid): 0 when the sources hold none.</param>
public sealed record ReconciledDay(DataType Type, DateOnly Day, long SourceCount, long ServerCount, int SamplesResent)
{
    /// <summary>
    /// The server holds more than the sources (samples deleted on the device without a deletion reaching the server, or
    /// pushed without a source): reported only, the SDK deletes nothing.
    /// </summary>
    public bool ServerHasMore => ServerCount > SourceCount;
}

/// <summary>Counts of a reconciliation, kept in the local store for <see cref="SyncStatus.LastReconciliation"/>.</summary>
/// <param name="Time">When it ran.</param>
/// <param name="DaysCompared">Type × day pairs compared.</param>
/// <param name="DaysResent">Pairs whose samples were enqueued again.</param>
/// <param name="DaysServerHasMore">Pairs where the server holds more than the sources (reported, nothing deleted).</param>
/// <param name="SamplesResent">Samples enqueued again.</param>
public sealed record ReconciliationSummary(DateTimeOffset Time, int DaysCompared, int DaysResent, int DaysServerHasMore, long SamplesResent);

/// <summary>The outcome of <see cref="HealthSyncClient.ReconcileAsync"/>.</summary>
/// <param name="Summary">The counts.</param>
/// <param name="FirstDay">The first UTC day compared (the last is the day it ran).</param>
/// <param name="Differences">Every type × day that differed, by type then day.</param>
public sealed record ReconciliationResult(ReconciliationSummary Summary, DateOnly FirstDay, IReadOnlyList<ReconciledDay> Differences);
