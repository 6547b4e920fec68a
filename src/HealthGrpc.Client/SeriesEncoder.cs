using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>One point of a series: when, and the value in the series' unit.</summary>
/// <param name="Time">When the point was measured (millisecond precision is kept).</param>
/// <param name="Value">The value.</param>
public readonly record struct SeriesPoint(DateTimeOffset Time, double Value);

/// <summary>
/// Builds the packed, delta-encoded <see cref="Series"/> of the wire (a few bytes per point instead of a message per
/// point) from plain values, and decodes it back. Long recordings are split into several series of at most
/// <c>maxPoints</c> points each (the server's <c>max_points_per_series</c> is 100,000 by default); the first part keeps
/// the given uuid and the others get uuids derived from it, so encoding the same recording again deduplicates.
/// </summary>
public static class SeriesEncoder
{
    /// <summary>Default most points per series part: 10,000 (under three hours of 1 Hz heart rate).</summary>
    public const int DefaultMaxPoints = 10_000;

    /// <summary>
    /// A regularly sampled series (1 Hz heart rate): <paramref name="values"/>[i] was measured at
    /// <paramref name="start"/> + i x <paramref name="interval"/>. Only the values travel (as deltas).
    /// </summary>
    /// <param name="uuid">The series' stable id (keep it with the recording: re-sending it is a harmless duplicate).</param>
    /// <param name="type">The data type of every point (DATA_TYPE_HEART_RATE, ...).</param>
    /// <param name="start">Time of the first point; its offset is sent as the zone offset.</param>
    /// <param name="interval">Time between points, 1 ms .. 49 days.</param>
    /// <param name="values">The values in <paramref name="unit"/>.</param>
    /// <param name="source">Who recorded it.</param>
    /// <param name="decimalExponent">Values are sent as integers x 10^exponent (-9..9): 0 for whole beats per minute.</param>
    /// <param name="unit">The unit; empty means the type's canonical unit.</param>
    /// <param name="maxPoints">Most points per series part.</param>
    public static IReadOnlyList<Series> Regular(
        Guid uuid, DataType type, DateTimeOffset start, TimeSpan interval, IReadOnlyList<double> values, Source source,
        int decimalExponent = 0, string unit = "", int maxPoints = DefaultMaxPoints)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(source);
        var intervalMs = interval.TotalMilliseconds;
        if (intervalMs < 1 || intervalMs > uint.MaxValue || intervalMs != Math.Floor(intervalMs))
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "The interval must be a whole number of milliseconds, 1 ms .. 49 days.");
        }

        Check(values.Count, decimalExponent, maxPoints);
        var parts = new List<Series>();
        for (int offset = 0, part = 0; offset < values.Count; offset += maxPoints, part++)
        {
            var series = Header(PackedScale.PartUuid(uuid, part), type, start.AddMilliseconds(intervalMs * offset), source, decimalExponent, unit);
            series.IntervalMs = (uint)intervalMs;
            long previous = 0;
            var end = Math.Min(values.Count, offset + maxPoints);
            for (var i = offset; i < end; i++)
            {
                var v = PackedScale.Scale(values[i], decimalExponent, i);
                series.ValueDeltas.Add(v - previous);
                previous = v;
            }

            parts.Add(series);
        }

        return parts;
    }

    /// <summary>
    /// An irregular series (RR intervals, beat-to-beat heart rate): each point with its own time, in non-decreasing order.
    /// Times travel as millisecond deltas, values as deltas of the scaled integers.
    /// </summary>
    /// <param name="uuid">The series' stable id.</param>
    /// <param name="type">The data type of every point (DATA_TYPE_RR_INTERVAL, ...).</param>
    /// <param name="points">The points, times non-decreasing; the first point's offset is sent as the zone offset.</param>
    /// <param name="source">Who recorded it.</param>
    /// <param name="decimalExponent">Values are sent as integers x 10^exponent (-9..9).</param>
    /// <param name="unit">The unit; empty means the type's canonical unit.</param>
    /// <param name="maxPoints">Most points per series part.</param>
    public static IReadOnlyList<Series> Irregular(
        Guid uuid, DataType type, IReadOnlyList<SeriesPoint> points, Source source, int decimalExponent = 0, string unit = "", int maxPoints = DefaultMaxPoints)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(source);
        Check(points.Count, decimalExponent, maxPoints);
        var parts = new List<Series>();
        for (int offset = 0, part = 0; offset < points.Count; offset += maxPoints, part++)
        {
            var first = points[offset].Time;
            var series = Header(PackedScale.PartUuid(uuid, part), type, first, source, decimalExponent, unit);
            var previousMs = first.ToUnixTimeMilliseconds();
            long previous = 0;
            var end = Math.Min(points.Count, offset + maxPoints);
            for (var i = offset; i < end; i++)
            {
                var ms = points[i].Time.ToUnixTimeMilliseconds();
                if (ms < previousMs)
                {
                    throw new ArgumentException($"Point {i} ({points[i].Time:O}) is before point {i - 1}: times must not decrease.", nameof(points));
                }

                var v = PackedScale.Scale(points[i].Value, decimalExponent, i);
                series.TimeDeltasMs.Add(ms - previousMs);
                series.ValueDeltas.Add(v - previous);
                previousMs = ms;
                previous = v;
            }

            parts.Add(series);
        }

        return parts;
    }

    /// <summary>The points of <paramref name="series"/> (times in UTC, values in the series' unit).</summary>
    /// <exception cref="FormatException">The time and value columns do not match.</exception>
    public static IReadOnlyList<SeriesPoint> Decode(Series series)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.TimeDeltasMs.Count != 0 && series.TimeDeltasMs.Count != series.ValueDeltas.Count)
        {
            throw new FormatException($"The series has {series.TimeDeltasMs.Count} time deltas for {series.ValueDeltas.Count} values.");
        }

        var points = new List<SeriesPoint>(series.ValueDeltas.Count);
        var t = series.StartTime.ToDateTimeOffset().ToUnixTimeMilliseconds();
        long v = 0;
        for (var i = 0; i < series.ValueDeltas.Count; i++)
        {
            t += series.TimeDeltasMs.Count > 0 ? series.TimeDeltasMs[i] : (i == 0 ? 0 : series.IntervalMs);
            v += series.ValueDeltas[i];
            points.Add(new SeriesPoint(DateTimeOffset.FromUnixTimeMilliseconds(t), PackedScale.Unscale(v, series.DecimalExponent)));
        }

        return points;
    }

    private static void Check(int count, int decimalExponent, int maxPoints)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1, "points");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1, nameof(maxPoints));
        PackedScale.CheckExponent(decimalExponent);
    }

    private static Series Header(Guid uuid, DataType type, DateTimeOffset start, Source source, int decimalExponent, string unit) => new()
    {
        Uuid = SampleUuid.ToByteString(uuid),
        Type = type,
        Unit = unit ?? "",
        DecimalExponent = decimalExponent,
        Source = source,
        StartTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(start.ToUnixTimeMilliseconds())),
        ZoneOffsetMinutes = (int)start.Offset.TotalMinutes,
    };
}
