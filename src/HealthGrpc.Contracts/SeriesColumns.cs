using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Contracts;

/// <summary>
/// Encodes and decodes the packed, delta-encoded columns of a <see cref="Series"/> (see series docs in
/// samples.proto). Regularly spaced points use <see cref="Series.IntervalMs"/> so the time column costs nothing.
/// </summary>
public static class SeriesColumns
{
    /// <summary>
    /// Fills <paramref name="series"/>'s start time, interval and delta columns from points in time order.
    /// Existing columns are replaced.
    /// </summary>
    /// <exception cref="ArgumentException">The points are empty or not in time order.</exception>
    public static void Encode(Series series, ReadOnlySpan<SeriesPoint> points)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (points.IsEmpty)
        {
            throw new ArgumentException("A series needs at least one point.", nameof(points));
        }

        series.TimeDeltasMs.Clear();
        series.ValueDeltas.Clear();
        series.StartTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(
            DateTimeOffset.FromUnixTimeMilliseconds(points[0].UnixMilliseconds));

        var interval = RegularInterval(points);
        series.IntervalMs = interval;
        long previousTime = points[0].UnixMilliseconds;
        long previousValue = 0;
        foreach (var point in points)
        {
            if (point.UnixMilliseconds < previousTime)
            {
                throw new ArgumentException("Series points must be in time order.", nameof(points));
            }

            if (interval == 0)
            {
                series.TimeDeltasMs.Add(point.UnixMilliseconds - previousTime);
            }

            series.ValueDeltas.Add(point.ScaledValue - previousValue);
            previousTime = point.UnixMilliseconds;
            previousValue = point.ScaledValue;
        }
    }

    /// <summary>Number of points the series carries, or -1 when its columns do not line up.</summary>
    public static int PointCount(Series series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var values = series.ValueDeltas.Count;
        if (series.TimeDeltasMs.Count == 0)
        {
            return series.IntervalMs > 0 || values <= 1 ? values : -1;
        }

        return series.TimeDeltasMs.Count == values && series.IntervalMs == 0 ? values : -1;
    }

    /// <summary>Decodes the points into <paramref name="destination"/> (cleared first).</summary>
    /// <exception cref="FormatException">Columns that do not line up, or a negative time delta.</exception>
    public static void Decode(Series series, List<SeriesPoint> destination)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(destination);
        var count = PointCount(series);
        if (count < 0)
        {
            throw new FormatException(
                $"Series columns do not line up: {series.TimeDeltasMs.Count} time deltas, {series.ValueDeltas.Count} values, interval {series.IntervalMs} ms.");
        }

        destination.Clear();
        destination.EnsureCapacity(count);
        var time = series.StartTime?.ToDateTimeOffset().ToUnixTimeMilliseconds() ?? 0;
        long value = 0;
        var times = series.TimeDeltasMs;
        var values = series.ValueDeltas;
        for (var i = 0; i < count; i++)
        {
            if (times.Count > 0)
            {
                var delta = times[i];
                if (delta < 0)
                {
                    throw new FormatException($"Series point {i} has a negative time delta ({delta} ms).");
                }

                time += delta;
            }
            else if (i > 0)
            {
                time += series.IntervalMs;
            }

            value += values[i];
            destination.Add(new SeriesPoint(time, value));
        }
    }

    private static uint RegularInterval(ReadOnlySpan<SeriesPoint> points)
    {
        if (points.Length < 2)
        {
            return 0;
        }

        var interval = points[1].UnixMilliseconds - points[0].UnixMilliseconds;
        if (interval <= 0 || interval > uint.MaxValue)
        {
            return 0;
        }

        for (var i = 2; i < points.Length; i++)
        {
            if (points[i].UnixMilliseconds - points[i - 1].UnixMilliseconds != interval)
            {
                return 0;
            }
        }

        return (uint)interval;
    }
}
