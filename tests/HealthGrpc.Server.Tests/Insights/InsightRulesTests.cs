using HealthGrpc.Server.Insights;
using HealthGrpc.Server.Query;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Tests.Insights;

/// <summary>
/// The insight rules as the pure function they are: each threshold crossed by a small margin on either side, too few
/// days, and the figures against a brute-force computation written independently here (normal equations, plain loops).
/// </summary>
public sealed class InsightRulesTests
{
    private const int Days = DailyFigures.WindowDays;
    private const int Today = Days - 1;

    private static DailyFigures Figures(double?[]? restingHeartRate = null, double?[]? sleep = null, double?[]? steps = null, double?[]? hrv = null)
    {
        var days = Enumerable.Range(0, Days).Select(day => new BucketRange(day * 86_400_000L, (day + 1) * 86_400_000L)).ToArray();
        return new DailyFigures(days, restingHeartRate ?? new double?[Days], sleep ?? new double?[Days], steps ?? new double?[Days], hrv ?? new double?[Days]);
    }

    /// <summary>Values on the last <paramref name="count"/> days ending at <paramref name="lastDay"/>, from <paramref name="value"/> (day index in the window).</summary>
    private static double?[] Daily(int count, Func<int, double> value, int lastDay = Today)
    {
        var values = new double?[Days];
        for (var day = lastDay - count + 1; day <= lastDay; day++)
        {
            values[day] = value(day);
        }

        return values;
    }

    [Theory]
    [InlineData(0.52, true)]
    [InlineData(0.48, false)]
    [InlineData(-0.52, true)]
    [InlineData(-0.48, false)]
    public void Resting_heart_rate_trend_is_flagged_beyond_half_a_bpm_a_day(double slope, bool flagged)
    {
        var finding = InsightRules.RestingHeartRateTrend(Figures(restingHeartRate: Daily(10, day => 60 + (slope * day))));

        Assert.Equal(flagged, finding is not null);
        if (finding is not null)
        {
            Assert.Equal(slope, finding.Change, 9);
            Assert.Equal(slope > 0 ? "rhr_trend_up" : "rhr_trend_down", finding.Code);
            Assert.Equal(10, finding.DaysWithData);
        }
    }

    [Fact]
    public void Resting_heart_rate_trend_needs_seven_days()
    {
        Assert.Null(InsightRules.RestingHeartRateTrend(Figures(restingHeartRate: Daily(6, day => 60 + (2.0 * day)))));
        Assert.NotNull(InsightRules.RestingHeartRateTrend(Figures(restingHeartRate: Daily(7, day => 60 + (2.0 * day)))));
        // Days older than the 30-day window do not count.
        Assert.Null(InsightRules.RestingHeartRateTrend(Figures(restingHeartRate: Daily(10, day => 60 + (2.0 * day), lastDay: Today - 30))));
    }

    [Fact]
    public void Resting_heart_rate_figures_equal_a_brute_force_least_squares_fit()
    {
        var random = new Random(14);
        var values = new double?[Days];
        for (var day = Today - 29; day <= Today; day++)
        {
            values[day] = random.Next(4) == 0 ? null : 55 + (day * 0.8) + (random.NextDouble() * 6);
        }

        var finding = InsightRules.RestingHeartRateTrend(Figures(restingHeartRate: values))!;

        // Normal equations over (x = day - first day of the window, y).
        double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (var day = Today - 29; day <= Today; day++)
        {
            if (values[day] is { } y)
            {
                double x = day - (Today - 29);
                (n, sx, sy, sxx, sxy) = (n + 1, sx + x, sy + y, sxx + (x * x), sxy + (x * y));
            }
        }

        var slope = ((n * sxy) - (sx * sy)) / ((n * sxx) - (sx * sx));
        var intercept = (sy - (slope * sx)) / n;
        Assert.Equal(slope, finding.Change, 9);
        Assert.Equal(intercept, finding.StartValue, 9);
        Assert.Equal(intercept + (slope * 29), finding.EndValue, 9);
        Assert.Equal(sy / n, finding.Average, 9);
        Assert.Equal((int)n, finding.DaysWithData);
    }

    [Theory]
    [InlineData(5.95, "sleep_deficit")]
    [InlineData(6.05, null)]
    [InlineData(6.0, null)]
    [InlineData(4.95, "sleep_deficit_high")]
    [InlineData(5.05, "sleep_deficit")]
    public void Sleep_deficit_is_flagged_below_six_hours_and_high_below_five(double hours, string? code)
    {
        var finding = InsightRules.SleepDeficit(Figures(sleep: Daily(10, _ => hours)));

        Assert.Equal(code, finding?.Code);
        if (finding is not null)
        {
            Assert.Equal(hours, finding.Average, 9);
            Assert.Equal(hours - 6, finding.Change, 9);
        }
    }

    [Fact]
    public void Sleep_deficit_needs_seven_nights_of_the_last_fourteen()
    {
        Assert.Null(InsightRules.SleepDeficit(Figures(sleep: Daily(6, _ => 4.0))));
        Assert.NotNull(InsightRules.SleepDeficit(Figures(sleep: Daily(7, _ => 4.0))));
        Assert.Null(InsightRules.SleepDeficit(Figures(sleep: Daily(10, _ => 4.0, lastDay: Today - 14))));
    }

    [Fact]
    public void Sleep_figures_equal_a_brute_force_average_of_the_nights_with_sleep()
    {
        var random = new Random(6);
        var sleep = new double?[Days];
        for (var day = Today - 20; day <= Today; day++)
        {
            sleep[day] = random.Next(3) == 0 ? null : 3 + (random.NextDouble() * 4);
        }

        sleep[Today - 13] ??= 1;
        sleep[Today] ??= 2;
        var nights = Enumerable.Range(Today - 13, 14).Where(day => sleep[day] is not null).Select(day => sleep[day]!.Value).ToArray();
        var finding = InsightRules.SleepDeficit(Figures(sleep: sleep));

        var average = nights.Sum() / nights.Length;
        Assert.Equal(average < 6, finding is not null);
        if (finding is not null)
        {
            Assert.Equal(average, finding.Average, 9);
            Assert.Equal(nights[0], finding.StartValue);
            Assert.Equal(nights[^1], finding.EndValue);
            Assert.Equal(nights.Length, finding.DaysWithData);
        }
    }

    [Theory]
    [InlineData(1.31, "activity_up")]
    [InlineData(1.29, null)]
    [InlineData(0.69, "activity_down")]
    [InlineData(0.71, null)]
    public void Activity_change_is_flagged_beyond_thirty_percent(double ratio, string? code)
    {
        // 28 baseline days of 8,000 steps, then the 7 complete days before today at ratio x; today's steps do not count.
        var steps = Daily(28, _ => 8000, lastDay: Today - 8);
        for (var day = Today - 7; day < Today; day++)
        {
            steps[day] = 8000 * ratio;
        }

        steps[Today] = 1;
        var finding = InsightRules.ActivityChange(Figures(steps: steps));

        Assert.Equal(code, finding?.Code);
        if (finding is not null)
        {
            Assert.Equal(56_000, finding.StartValue, 6);
            Assert.Equal(56_000 * ratio, finding.EndValue, 6);
            Assert.Equal((ratio - 1) * 100, finding.Change, 6);
            Assert.Equal(((56_000 * ratio) + (4 * 56_000)) / 5, finding.Average, 6);
        }
    }

    [Fact]
    public void Activity_change_needs_four_days_this_week_and_twenty_before()
    {
        var baseline = Daily(20, _ => 8000, lastDay: Today - 8);
        var thisWeek = Daily(4, _ => 100, lastDay: Today - 1);
        double?[] Merge(double?[] a, double?[] b) => a.Zip(b, (x, y) => x ?? y).ToArray();

        Assert.NotNull(InsightRules.ActivityChange(Figures(steps: Merge(baseline, thisWeek))));
        Assert.Null(InsightRules.ActivityChange(Figures(steps: Merge(Daily(19, _ => 8000, lastDay: Today - 8), thisWeek))));
        Assert.Null(InsightRules.ActivityChange(Figures(steps: Merge(baseline, Daily(3, _ => 100, lastDay: Today - 1)))));
    }

    [Theory]
    [InlineData(0.79, true)]
    [InlineData(0.81, false)]
    [InlineData(0.80, false)]
    public void Hrv_drop_is_flagged_more_than_twenty_percent_below_the_baseline(double ratio, bool flagged)
    {
        var hrv = Daily(60, _ => 50, lastDay: Today - 7);
        for (var day = Today - 6; day <= Today; day++)
        {
            hrv[day] = 50 * ratio;
        }

        var finding = InsightRules.HrvDrop(Figures(hrv: hrv));

        Assert.Equal(flagged, finding is not null);
        if (finding is not null)
        {
            Assert.Equal(50, finding.StartValue, 9);
            Assert.Equal(50 * ratio, finding.EndValue, 9);
            Assert.Equal((ratio - 1) * 100, finding.Change, 9);
            Assert.Equal(67, finding.DaysWithData);
        }
    }

    [Fact]
    public void Hrv_drop_needs_four_recent_days_and_twenty_baseline_days()
    {
        double?[] Hrv(int baselineDays, int recentDays)
        {
            var baseline = Daily(baselineDays, _ => 50, lastDay: Today - 7);
            var recent = Daily(recentDays, _ => 20);
            return baseline.Zip(recent, (x, y) => x ?? y).ToArray();
        }

        Assert.NotNull(InsightRules.HrvDrop(Figures(hrv: Hrv(20, 4))));
        Assert.Null(InsightRules.HrvDrop(Figures(hrv: Hrv(19, 4))));
        Assert.Null(InsightRules.HrvDrop(Figures(hrv: Hrv(20, 3))));
    }

    [Fact]
    public void Hrv_figures_equal_a_brute_force_computation()
    {
        var random = new Random(60);
        var hrv = new double?[Days];
        for (var day = 0; day < Days; day++)
        {
            hrv[day] = random.Next(5) == 0 ? null : (day > Today - 7 ? 25 : 55) + (random.NextDouble() * 10);
        }

        var finding = InsightRules.HrvDrop(Figures(hrv: hrv))!;

        double recentSum = 0, recentCount = 0, baseSum = 0, baseCount = 0;
        for (var day = 0; day < Days; day++)
        {
            if (hrv[day] is not { } value)
            {
                continue;
            }

            if (day > Today - 7)
            {
                (recentSum, recentCount) = (recentSum + value, recentCount + 1);
            }
            else
            {
                (baseSum, baseCount) = (baseSum + value, baseCount + 1);
            }
        }

        Assert.Equal(baseSum / baseCount, finding.StartValue, 9);
        Assert.Equal(recentSum / recentCount, finding.EndValue, 9);
        Assert.Equal(((recentSum / recentCount) - (baseSum / baseCount)) / (baseSum / baseCount) * 100, finding.Change, 9);
        Assert.Equal((recentSum + baseSum) / (recentCount + baseCount), finding.Average, 9);
    }

    [Fact]
    public void Evaluate_gives_one_finding_per_kind_that_holds_and_the_same_findings_for_the_same_figures()
    {
        var figures = Figures(restingHeartRate: Daily(10, day => 60 + day), sleep: Daily(10, _ => 4));

        var findings = InsightRules.Evaluate(figures);

        Assert.Equal([InsightKind.RestingHeartRateTrend, InsightKind.SleepDeficit], findings.Select(finding => finding.Kind));
        Assert.Equal(findings, InsightRules.Evaluate(figures));
        Assert.Empty(InsightRules.Evaluate(Figures()));
    }
}
