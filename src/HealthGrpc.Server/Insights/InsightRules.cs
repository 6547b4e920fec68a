using System.Globalization;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;
using InsightKind = HealthGrpc.Storage.InsightKind;

namespace HealthGrpc.Server.Insights;

/// <summary>
/// The insight kinds as a pure function of a user's daily figures (insights.proto states each rule and the minimum data
/// it needs): the same figures always give the same findings, so a recompute over unchanged data writes nothing.
/// Thresholds are strict (a figure exactly at a threshold is no finding).
/// </summary>
internal static class InsightRules
{
    public const int TrendDays = 30;
    public const int TrendMinDays = 7;
    public const double TrendSlopeBpmPerDay = 0.5;

    public const int SleepNights = 14;
    public const int SleepMinNights = 7;
    public const double SleepDeficitHours = 6;
    public const double SleepHighDeficitHours = 5;

    public const int ActivityWeekMinDays = 4;
    public const int ActivityBaselineDays = 28;
    public const int ActivityBaselineMinDays = 20;
    public const double ActivityChangePercent = 30;

    public const int HrvRecentDays = 7;
    public const int HrvRecentMinDays = 4;
    public const int HrvBaselineDays = 60;
    public const int HrvBaselineMinDays = 20;
    public const double HrvDropPercent = 20;

    public static IReadOnlyList<InsightFinding> Evaluate(DailyFigures figures)
    {
        if (figures.Days.Count < DailyFigures.WindowDays)
        {
            throw new ArgumentException($"The rules need {DailyFigures.WindowDays} days of figures.", nameof(figures));
        }

        var findings = new List<InsightFinding>(4);
        AddIfFound(findings, RestingHeartRateTrend(figures));
        AddIfFound(findings, SleepDeficit(figures));
        AddIfFound(findings, ActivityChange(figures));
        AddIfFound(findings, HrvDrop(figures));
        return findings;
    }

    /// <summary>Least-squares slope of the daily resting heart rate over the last 30 days (x: the day's index in the window).</summary>
    public static InsightFinding? RestingHeartRateTrend(DailyFigures figures)
    {
        var first = figures.Today - TrendDays + 1;
        var points = Present(figures.RestingHeartRate, first, figures.Today).Select(day => (X: (double)(day - first), Y: figures.RestingHeartRate[day]!.Value)).ToArray();
        if (points.Length < TrendMinDays)
        {
            return null;
        }

        var meanX = points.Average(point => point.X);
        var meanY = points.Average(point => point.Y);
        var covariance = points.Sum(point => (point.X - meanX) * (point.Y - meanY));
        var variance = points.Sum(point => (point.X - meanX) * (point.X - meanX));
        var slope = covariance / variance;
        if (Math.Abs(slope) <= TrendSlopeBpmPerDay)
        {
            return null;
        }

        var intercept = meanY - slope * meanX;
        var rising = slope > 0;
        return new InsightFinding(
            InsightKind.RestingHeartRateTrend,
            (int)(rising ? InsightSeverity.Warning : InsightSeverity.Info),
            (int)(rising ? InsightDirection.Up : InsightDirection.Down),
            (int)InsightKinds.DataTypeOf(InsightKind.RestingHeartRateTrend),
            rising ? "rhr_trend_up" : "rhr_trend_down",
            Text($"Your resting heart rate has been {(rising ? "rising" : "falling")} by {Math.Abs(slope):0.0} bpm a day over the last {TrendDays} days (from about {intercept:0} to {intercept + slope * (TrendDays - 1):0} bpm)."),
            figures.Days[first].StartUnixMs,
            figures.Days[figures.Today].EndUnixMs,
            intercept,
            intercept + slope * (TrendDays - 1),
            slope,
            meanY,
            "count/min",
            points.Length);
    }

    /// <summary>Average asleep hours of the last 14 nights that hold sleep (a night is the day its sleep ends).</summary>
    public static InsightFinding? SleepDeficit(DailyFigures figures)
    {
        var first = figures.Today - SleepNights + 1;
        var nights = Present(figures.SleepHours, first, figures.Today).ToArray();
        if (nights.Length < SleepMinNights)
        {
            return null;
        }

        var average = nights.Average(night => figures.SleepHours[night]!.Value);
        if (average >= SleepDeficitHours)
        {
            return null;
        }

        var high = average < SleepHighDeficitHours;
        return new InsightFinding(
            InsightKind.SleepDeficit,
            (int)(high ? InsightSeverity.High : InsightSeverity.Warning),
            (int)InsightDirection.Down,
            (int)InsightKinds.DataTypeOf(InsightKind.SleepDeficit),
            high ? "sleep_deficit_high" : "sleep_deficit",
            Text($"You slept {average:0.0} h a night on average over the last {nights.Length} nights, below {(high ? SleepHighDeficitHours : SleepDeficitHours):0} h."),
            figures.Days[first].StartUnixMs,
            figures.Days[figures.Today].EndUnixMs,
            figures.SleepHours[nights[0]]!.Value,
            figures.SleepHours[nights[^1]]!.Value,
            average - SleepDeficitHours,
            average,
            "h",
            nights.Length);
    }

    /// <summary>Steps of the 7 complete days before today against the weekly average of the 28 days before them.</summary>
    public static InsightFinding? ActivityChange(DailyFigures figures)
    {
        var weekLast = figures.Today - 1;
        var weekFirst = weekLast - 6;
        var baselineFirst = weekFirst - ActivityBaselineDays;
        var weekDays = Present(figures.Steps, weekFirst, weekLast).Count();
        var baselineDays = Present(figures.Steps, baselineFirst, weekFirst - 1).Count();
        if (weekDays < ActivityWeekMinDays || baselineDays < ActivityBaselineMinDays)
        {
            return null;
        }

        var week = Sum(figures.Steps, weekFirst, weekLast);
        var baselineWeek = Sum(figures.Steps, baselineFirst, weekFirst - 1) / (ActivityBaselineDays / 7);
        if (baselineWeek <= 0)
        {
            return null;
        }

        var change = (week - baselineWeek) / baselineWeek * 100;
        if (Math.Abs(change) <= ActivityChangePercent)
        {
            return null;
        }

        var up = change > 0;
        return new InsightFinding(
            InsightKind.ActivityChange,
            (int)InsightSeverity.Info,
            (int)(up ? InsightDirection.Up : InsightDirection.Down),
            (int)InsightKinds.DataTypeOf(InsightKind.ActivityChange),
            up ? "activity_up" : "activity_down",
            Text($"You walked {week:0} steps in the last 7 days, {Math.Abs(change):0}% {(up ? "more" : "fewer")} than your weekly average of {baselineWeek:0} over the 4 weeks before."),
            figures.Days[baselineFirst].StartUnixMs,
            figures.Days[weekLast].EndUnixMs,
            baselineWeek,
            week,
            change,
            (week + baselineWeek * (ActivityBaselineDays / 7)) / (ActivityBaselineDays / 7 + 1),
            "count",
            weekDays + baselineDays);
    }

    /// <summary>The 7-day average of daily HRV SDNN (today included) against the average of the 60 days before them.</summary>
    public static InsightFinding? HrvDrop(DailyFigures figures)
    {
        var recentFirst = figures.Today - HrvRecentDays + 1;
        var baselineFirst = recentFirst - HrvBaselineDays;
        var recent = Present(figures.HrvSdnn, recentFirst, figures.Today).Select(day => figures.HrvSdnn[day]!.Value).ToArray();
        var baseline = Present(figures.HrvSdnn, baselineFirst, recentFirst - 1).Select(day => figures.HrvSdnn[day]!.Value).ToArray();
        if (recent.Length < HrvRecentMinDays || baseline.Length < HrvBaselineMinDays)
        {
            return null;
        }

        var recentAverage = recent.Average();
        var baselineAverage = baseline.Average();
        if (baselineAverage <= 0)
        {
            return null;
        }

        var change = (recentAverage - baselineAverage) / baselineAverage * 100;
        if (change >= -HrvDropPercent)
        {
            return null;
        }

        return new InsightFinding(
            InsightKind.HrvDrop,
            (int)InsightSeverity.Warning,
            (int)InsightDirection.Down,
            (int)InsightKinds.DataTypeOf(InsightKind.HrvDrop),
            "hrv_drop",
            Text($"Your heart rate variability averaged {recentAverage:0} ms over the last 7 days, {-change:0}% below your 60-day baseline of {baselineAverage:0} ms."),
            figures.Days[baselineFirst].StartUnixMs,
            figures.Days[figures.Today].EndUnixMs,
            baselineAverage,
            recentAverage,
            change,
            recent.Concat(baseline).Average(),
            "ms",
            recent.Length + baseline.Length);
    }

    private static void AddIfFound(List<InsightFinding> findings, InsightFinding? finding)
    {
        if (finding is not null)
        {
            findings.Add(finding);
        }
    }

    /// <summary>The days in [first, last] holding a figure, in order.</summary>
    private static IEnumerable<int> Present(IReadOnlyList<double?> values, int first, int last)
    {
        for (var day = first; day <= last; day++)
        {
            if (values[day] is not null)
            {
                yield return day;
            }
        }
    }

    private static double Sum(IReadOnlyList<double?> values, int first, int last)
    {
        double sum = 0;
        for (var day = first; day <= last; day++)
        {
            sum += values[day] ?? 0;
        }

        return sum;
    }

    private static string Text(FormattableString message) => message.ToString(CultureInfo.InvariantCulture);
}
