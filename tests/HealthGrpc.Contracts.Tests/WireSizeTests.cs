using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using Xunit.Abstractions;

namespace HealthGrpc.Contracts.Tests;

/// <summary>
/// The wire budget is a product promise (docs/protocol.md): a discrete heart-rate sample, uuid included,
/// costs at most 32 bytes in a batch of 1,000; a 1 Hz series point at most 4 bytes.
/// </summary>
public sealed class WireSizeTests(ITestOutputHelper output)
{
    [Fact]
    public void Discrete_heart_rate_sample_costs_at_most_32_bytes_in_a_batch_of_1000()
    {
        var batch = RepresentativeBatches.DiscreteHeartRate(1000);
        var request = new SyncRequest { Batch = batch };
        var perSample = request.CalculateSize() / 1000.0;
        var naive = NaiveEncodingSize(batch) / 1000.0;

        output.WriteLine($"discrete heart rate: {perSample:F2} B/sample (a message-per-sample design with a string uuid: {naive:F2} B/sample)");
        Assert.True(perSample <= 32, $"{perSample:F2} bytes per discrete sample exceeds the 32-byte budget.");
    }

    [Fact]
    public void One_hour_of_1hz_heart_rate_series_costs_at_most_4_bytes_per_point()
    {
        var series = RepresentativeBatches.HeartRateSeries(3600);
        var request = new SyncRequest { Batch = new Batch { BatchSeq = 1, Series = { series } } };
        var perPoint = request.CalculateSize() / 3600.0;

        output.WriteLine($"1 Hz heart-rate series: {perPoint:F2} B/point over 3,600 points");
        Assert.True(perPoint <= 4, $"{perPoint:F2} bytes per series point exceeds the 4-byte budget.");
    }

    [Fact]
    public void Irregular_series_still_fits_the_budget()
    {
        var random = new Random(3);
        var points = new SeriesPoint[3600];
        var time = 1_700_000_000_000L;
        for (var i = 0; i < points.Length; i++)
        {
            time += 900 + random.Next(0, 200); // watch sampling jitters around 1 Hz
            points[i] = new SeriesPoint(time, 60 + random.Next(0, 5));
        }

        var series = new Series { Uuid = RepresentativeBatches.Uuid(5), Type = DataType.HeartRate };
        SeriesColumns.Encode(series, points);
        var perPoint = series.CalculateSize() / 3600.0;

        output.WriteLine($"irregular 1 Hz series: {perPoint:F2} B/point");
        Assert.Equal(0u, series.IntervalMs);
        Assert.True(perPoint <= 4, $"{perPoint:F2} bytes per irregular series point exceeds 4.");
    }

    /// <summary>
    /// What teams build first: one self-describing message per sample (36-char uuid string, type, a
    /// google.protobuf.Timestamp, a double value). Computed field by field with the protobuf size rules.
    /// </summary>
    private static int NaiveEncodingSize(Batch batch)
    {
        var total = 0;
        foreach (var set in batch.SampleSets)
        {
            foreach (var sample in set.Samples)
            {
                var start = set.BaseTime.Seconds + (sample.StartOffsetMs / 1000);
                var timestamp = 1 + CodedOutputStream.ComputeInt64Size(start); // whole seconds: nanos is omitted
                var body = 1 + CodedOutputStream.ComputeStringSize(SampleUuid.ToGuid(sample.Uuid).ToString()) // uuid string
                    + 1 + CodedOutputStream.ComputeEnumSize((int)set.Type) // type
                    + 1 + CodedOutputStream.ComputeLengthSize(timestamp) + timestamp // start
                    + 1 + 8; // double value
                total += 1 + CodedOutputStream.ComputeLengthSize(body) + body;
            }
        }

        return total;
    }
}
