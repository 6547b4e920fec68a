namespace HealthGrpc.Server.Insights;

/// <summary>Insight settings, bound from the <c>Insights</c> configuration section (e.g. <c>--Insights:SettleDelay 00:00:05</c>).</summary>
public sealed class InsightOptions
{
    /// <summary>
    /// How long a user's recompute waits after the first commit that asked for it: commits arriving meanwhile (a sync
    /// of many batches) are coalesced into that one recompute.
    /// </summary>
    public TimeSpan SettleDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time between two sweeps that recompute every user (windows move with time: an old deficit closes without new data) and purge expired insights. The first sweep runs one interval after start.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Days an insight is kept after it was closed (an open one: after its last update); 730 (2 years) by default, 0 forever.</summary>
    public int RetentionDays { get; set; } = 730;

    /// <summary>Insights one purge transaction deletes at most.</summary>
    public int PurgeBatchRows { get; set; } = 5000;
}
