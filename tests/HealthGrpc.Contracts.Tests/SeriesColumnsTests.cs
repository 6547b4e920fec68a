using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Contracts.Tests;

public sealed class SeriesColumnsTests
{
    [Fact]
    public void Regular_points_round_trip_with_an_interval_and_no_time_column()
    {
        var points = Enumerable.Range(0, 100).Select(i => new SeriesPoint(1_000_000 + (i * 1000L), 60 + (i % 7))).ToArray();
        var series = new Series();

        SeriesColumns.Encode(series, points);
        var decoded = new List<SeriesPoint>();
        SeriesColumns.Decode(series, decoded);

        Assert.Equal(1000u, series.IntervalMs);
        Assert.Empty(series.TimeDeltasMs);
        Assert.Equal(points, decoded);
    }

    [Fact]
    public void Irregular_points_round_trip_with_a_time_column()
    {
        SeriesPoint[] points = [new(5_000, -3), new(5_000, 4), new(5_700, 1_000_000), new(9_100, -1_000_000)];
        var series = new Series();

        SeriesColumns.Encode(series, points);
        var decoded = new List<SeriesPoint>();
        SeriesColumns.Decode(series, decoded);

        Assert.Equal(0u, series.IntervalMs);
        Assert.Equal(points, decoded);
    }

    [Fact]
    public void A_single_point_round_trips()
    {
        var series = new Series();
        SeriesColumns.Encode(series, [new SeriesPoint(123_456, 72)]);
        var decoded = new List<SeriesPoint>();
        SeriesColumns.Decode(series, decoded);
        Assert.Equal([new SeriesPoint(123_456, 72)], decoded);
    }

    [Fact]
    public void Points_out_of_time_order_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => SeriesColumns.Encode(new Series(), [new(2_000, 1), new(1_000, 1)]));
        Assert.Contains("time order", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Columns_that_do_not_line_up_are_reported()
    {
        var series = new Series { TimeDeltasMs = { 0, 1000 }, ValueDeltas = { 1, 2, 3 } };
        Assert.Equal(-1, SeriesColumns.PointCount(series));
        Assert.Throws<FormatException>(() => SeriesColumns.Decode(series, []));
    }

    [Fact]
    public void A_negative_time_delta_is_reported()
    {
        var series = new Series { TimeDeltasMs = { 0, -5 }, ValueDeltas = { 1, 2 } };
        var error = Assert.Throws<FormatException>(() => SeriesColumns.Decode(series, []));
        Assert.Contains("negative", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_values_without_interval_or_time_column_are_malformed()
    {
        Assert.Equal(-1, SeriesColumns.PointCount(new Series { ValueDeltas = { 1, 2 } }));
    }
}
