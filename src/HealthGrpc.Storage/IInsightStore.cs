namespace HealthGrpc.Storage;

/// <summary>
/// Insights for a store that keeps them (a capability of its own, beside <see cref="IHealthStore"/>; SQLite and
/// PostgreSQL). Every write that changes an insight gives it the user's next change sequence, so the change feed publishes
/// it (<see cref="ChangeKind.Insight"/>), and raises <see cref="IHealthStore.ChangeNotifications"/> once committed.
/// </summary>
public interface IInsightStore
{
    /// <summary>
    /// Makes the user's open insights match <paramref name="findings"/> (at most one per kind) in one transaction: a
    /// finding of a kind with no open insight raises a new one; one whose figures, code or severity differ from the open
    /// insight of its kind updates it in place (same id); an open insight of a kind without a finding is closed. An
    /// unchanged insight is not written. Nothing happens for an unknown user.
    /// </summary>
    Task<InsightReconciliation> ReconcileInsightsAsync(string userId, IReadOnlyList<InsightFinding> findings, long nowUnixMs, CancellationToken ct);

    /// <summary>A page of the user's insights (see <see cref="InsightQuery"/>).</summary>
    Task<IReadOnlyList<InsightRecord>> ListInsightsAsync(InsightQuery query, CancellationToken ct);

    /// <summary>The user's insight with this id, acknowledged at <paramref name="nowUnixMs"/> unless it already was; null when the user has no such insight.</summary>
    Task<InsightRecord?> AcknowledgeInsightAsync(string userId, string insightId, long nowUnixMs, CancellationToken ct);

    /// <summary>The IANA zone id the user's insights are computed in; null when never set (UTC).</summary>
    Task<string?> GetInsightTimeZoneAsync(string userId, CancellationToken ct);

    /// <summary>Stores the user's zone id (null: back to UTC); false when the user is unknown.</summary>
    Task<bool> SetInsightTimeZoneAsync(string userId, string? timeZoneId, CancellationToken ct);

    /// <summary>
    /// Deletes at most <paramref name="maxRows"/> insights closed (or, when open, last updated) before
    /// <paramref name="beforeUnixMs"/>; each affected user's change-feed floor moves to the highest sequence deleted.
    /// </summary>
    Task<PurgeResult> PurgeInsightsAsync(long beforeUnixMs, int maxRows, CancellationToken ct);
}
