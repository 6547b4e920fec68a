using HealthGrpc.Contracts.V1;
using NodaTime;

namespace HealthGrpc.Server.Query;

/// <summary>One aggregate bucket as an instant range [start, end) in Unix milliseconds.</summary>
internal readonly record struct BucketRange(long StartUnixMs, long EndUnixMs);

/// <summary>
/// Aggregate bucket boundaries in a time zone (NodaTime's tzdb, never the host's): local days, ISO weeks (Monday) and
/// months start at the zone's start of day (so a DST day lasts 23 or 25 hours); hours start at every local :00, and a
/// local hour repeated when clocks go back is two buckets. Hour boundaries are searched on the 15-minute UTC grid,
/// which every zone offset in use today is a multiple of (+05:45, −03:30, +12:45 included).
/// </summary>
internal static class LocalBuckets
{
    public const long SlotMs = 15 * 60 * 1000;

    /// <summary>The buckets from the one holding <paramref name="fromUnixMs"/> to the one holding the instant before <paramref name="toUnixMs"/>.</summary>
    public static List<BucketRange> Cover(DateTimeZone zone, BucketSize size, long fromUnixMs, long toUnixMs) =>
        size == BucketSize.Hour ? Hours(zone, fromUnixMs, toUnixMs) : Calendar(zone, size, fromUnixMs, toUnixMs);

    private static List<BucketRange> Calendar(DateTimeZone zone, BucketSize size, long fromUnixMs, long toUnixMs)
    {
        var date = Instant.FromUnixTimeMilliseconds(fromUnixMs).InZone(zone).Date;
        date = size switch
        {
            BucketSize.Week => date.With(DateAdjusters.PreviousOrSame(IsoDayOfWeek.Monday)),
            BucketSize.Month => date.With(DateAdjusters.StartOfMonth),
            _ => date,
        };

        var buckets = new List<BucketRange>();
        var start = StartOfDay(zone, date);
        while (start < toUnixMs)
        {
            date = size switch
            {
                BucketSize.Week => date.PlusWeeks(1),
                BucketSize.Month => date.PlusMonths(1),
                _ => date.PlusDays(1),
            };
            var end = StartOfDay(zone, date);
            buckets.Add(new BucketRange(start, end));
            start = end;
        }

        return buckets;
    }

    private static long StartOfDay(DateTimeZone zone, LocalDate date) => zone.AtStartOfDay(date).ToInstant().ToUnixTimeMilliseconds();

    private static List<BucketRange> Hours(DateTimeZone zone, long fromUnixMs, long toUnixMs)
    {
        // Back from the grid point at or before `from` to the hour boundary at or before it.
        var start = Math.DivRem(fromUnixMs, SlotMs, out var rest) * SlotMs - (rest < 0 ? SlotMs : 0);
        while (!IsHourStart(zone, start))
        {
            start -= SlotMs;
        }

        var buckets = new List<BucketRange>();
        var previous = Local(zone, start);
        var bucketStart = start;
        for (var t = start + SlotMs; ; t += SlotMs)
        {
            var local = Local(zone, t);
            if (IsHourStart(previous, local))
            {
                buckets.Add(new BucketRange(bucketStart, t));
                if (t >= toUnixMs)
                {
                    return buckets;
                }

                bucketStart = t;
            }

            previous = local;
        }
    }

    private static bool IsHourStart(DateTimeZone zone, long unixMs) => IsHourStart(Local(zone, unixMs - SlotMs), Local(zone, unixMs));

    // A new local hour begins where the clock enters another hour, or goes back (the repeated hour of a DST end).
    private static bool IsHourStart(LocalDateTime previous, LocalDateTime current) =>
        current <= previous || current.Date != previous.Date || current.Hour != previous.Hour;

    private static LocalDateTime Local(DateTimeZone zone, long unixMs) => Instant.FromUnixTimeMilliseconds(unixMs).InZone(zone).LocalDateTime;
}
