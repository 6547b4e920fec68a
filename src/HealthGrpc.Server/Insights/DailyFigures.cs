using HealthGrpc.Server.Query;

namespace HealthGrpc.Server.Insights;

/// <summary>
/// What the insight rules read: one figure per local day of the user's zone, the last day being today (still running),
/// null where the day holds no data. <see cref="Days"/> are the days' instant ranges (23 or 25 hours on DST days), each
/// array is aligned with them. Built by <see cref="DailyFigureReader"/> from the store; the rules never see the store.
/// </summary>
internal sealed record DailyFigures(
    IReadOnlyList<BucketRange> Days,
    IReadOnlyList<double?> RestingHeartRate,
    IReadOnlyList<double?> SleepHours,
    IReadOnlyList<double?> Steps,
    IReadOnlyList<double?> HrvSdnn)
{
    /// <summary>Days every rule needs at most: HRV_DROP's 60-day baseline before its 7 days (today included).</summary>
    public const int WindowDays = 67;

    /// <summary>Index of today.</summary>
    public int Today => Days.Count - 1;
}
