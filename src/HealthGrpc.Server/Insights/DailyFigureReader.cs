using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Query;
using HealthGrpc.Storage;
using NodaTime;

namespace HealthGrpc.Server.Insights;

/// <summary>
/// Reads a user's <see cref="DailyFigures"/> from the store, in their zone: the quantity types from the 15-minute
/// rollups folded into local days exactly as GetAggregates does (one source per slot, default source priority; resting
/// heart rate and HRV as the day's mean, steps as its sum); sleep from the sleep samples (asleep stages only), a night
/// being the local day a sample ends on, its hours the union of the asleep intervals of the night's best-ranked
/// source (overlapping stages of one source count once, two sources never add up). Bounded: 67 days of rollups of three
/// types and of sleep samples, whatever the user holds.
/// </summary>
internal sealed class DailyFigureReader(IHealthStore store, TimeProvider clock)
{
    private const int SleepPageSize = 1000;
    private const long DayMs = 24 * 60 * 60 * 1000;
    private static readonly SourcePriority DefaultPriority = new([]);
    private static readonly HashSet<int> AsleepStages =
        [(int)SleepStage.AsleepUnspecified, (int)SleepStage.Light, (int)SleepStage.Deep, (int)SleepStage.Rem];

    public async Task<DailyFigures> ReadAsync(string userId, DateTimeZone zone, CancellationToken ct)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var today = Instant.FromUnixTimeMilliseconds(now).InZone(zone).Date;
        var first = zone.AtStartOfDay(today.PlusDays(1 - DailyFigures.WindowDays)).ToInstant().ToUnixTimeMilliseconds();
        var days = LocalBuckets.Cover(zone, BucketSize.Day, first, now + 1);
        var restingHeartRate = await DailyAsync(userId, DataType.RestingHeartRate, days, mean: true, ct).ConfigureAwait(false);
        var steps = await DailyAsync(userId, DataType.Steps, days, mean: false, ct).ConfigureAwait(false);
        var hrv = await DailyAsync(userId, DataType.HeartRateVariabilitySdnn, days, mean: true, ct).ConfigureAwait(false);
        var sleep = await NightlySleepAsync(userId, days, ct).ConfigureAwait(false);
        return new DailyFigures(days, restingHeartRate, sleep, steps, hrv);
    }

    private async Task<double?[]> DailyAsync(string userId, DataType type, List<BucketRange> days, bool mean, CancellationToken ct)
    {
        var rollups = await store.ReadRollupsAsync(userId, (int)type, days[0].StartUnixMs, days[^1].EndUnixMs, ct).ConfigureAwait(false);
        return RollupAggregator.Aggregate(rollups, days, DefaultPriority)
            .Select(day => day.Count == 0 ? (double?)null : mean ? day.Average : day.Sum)
            .ToArray();
    }

    private async Task<double?[]> NightlySleepAsync(string userId, List<BucketRange> days, CancellationToken ct)
    {
        var intervals = new Dictionary<(int Night, SourceRecord Source), List<(long Start, long End)>>();
        SampleReadPage? page = null;
        do
        {
            var query = new SampleQuery(
                userId, [(int)DataType.SleepAnalysis], [], days[0].StartUnixMs, days[^1].EndUnixMs, DayMs,
                page?.SnapshotSequence, page?.Items[^1].Position, SleepPageSize);
            page = await store.ReadSamplesAsync(query, ct).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                if (item.Sample is { Category: { } stage } sample && AsleepStages.Contains(stage) && sample.EndUnixMs > sample.StartUnixMs
                    && NightOf(days, sample.EndUnixMs) is { } night)
                {
                    var key = (night, sample.Source);
                    if (!intervals.TryGetValue(key, out var list))
                    {
                        intervals[key] = list = [];
                    }

                    list.Add((sample.StartUnixMs, sample.EndUnixMs));
                }
            }
        }
        while (page.HasMore && page.Items.Count > 0);

        var hours = new double?[days.Count];
        foreach (var night in intervals.GroupBy(entry => entry.Key.Night))
        {
            var best = night.OrderBy(entry => entry.Key.Source, DefaultPriority).First();
            hours[night.Key] = UnionMs(best.Value) / 3_600_000.0;
        }

        return hours;
    }

    /// <summary>The day a sleep sample ending at <paramref name="endUnixMs"/> (exclusive) belongs to; null outside the window.</summary>
    private static int? NightOf(List<BucketRange> days, long endUnixMs)
    {
        var instant = endUnixMs - 1;
        var index = days.BinarySearch(new BucketRange(instant, instant), Comparer<BucketRange>.Create((a, b) => a.StartUnixMs.CompareTo(b.StartUnixMs)));
        index = index >= 0 ? index : ~index - 1;
        return index >= 0 && instant < days[index].EndUnixMs ? index : null;
    }

    /// <summary>The length of the union of the intervals.</summary>
    private static long UnionMs(List<(long Start, long End)> intervals)
    {
        intervals.Sort();
        long total = 0, coveredTo = long.MinValue;
        foreach (var (start, end) in intervals)
        {
            var from = Math.Max(start, coveredTo);
            if (end > from)
            {
                total += end - from;
                coveredTo = end;
            }
        }

        return total;
    }
}
