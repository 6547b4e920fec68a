using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using NodaTime;

namespace HealthGrpc.Cli.Query;

/// <summary>
/// One row per discrete sample, per series point and per waveform chunk of a ReadSamples page, ordered by start time,
/// so a table, a CSV file and a JSON array all read the same way.
/// </summary>
internal static class SampleRows
{
    public static readonly IReadOnlyList<string> Columns = ["kind", "uuid", "type", "start", "end", "value", "unit", "category", "sourceKind", "sourceName", "deviceId"];

    /// <summary>The page's rows, by start time (discrete samples, then series points, then waveforms at equal starts).</summary>
    public static IEnumerable<object?[]> Of(ReadSamplesResponse page, DateTimeZone zone)
    {
        var rows = new List<(long Start, object?[] Row)>(page.Samples.Count);
        foreach (var sample in page.Samples)
        {
            var start = sample.StartTime.ToDateTimeOffset().ToUnixTimeMilliseconds();
            var value = sample.ValueCase == StoredSample.ValueOneofCase.Quantity ? sample.Quantity : (object)sample.Category;
            var category = sample.ValueCase == StoredSample.ValueOneofCase.Category ? CategoryName(sample.Type, sample.Category) : null;
            rows.Add((start, Row("sample", sample.Uuid, sample.Type, sample.VendorType, start, sample.EndTime.ToDateTimeOffset().ToUnixTimeMilliseconds(), value, sample.Unit, category, sample.Source, sample.DeviceId, zone)));
        }

        var points = new List<SeriesPoint>();
        foreach (var series in page.Series)
        {
            SeriesColumns.Decode(series, points);
            var scale = Math.Pow(10, series.DecimalExponent);
            foreach (var point in points)
            {
                rows.Add((point.UnixMilliseconds, Row("series", series.Uuid, series.Type, series.VendorType, point.UnixMilliseconds, point.UnixMilliseconds, point.ScaledValue * scale, series.Unit, null, series.Source, "", zone)));
            }
        }

        foreach (var waveform in page.Waveforms)
        {
            var start = waveform.StartTime.ToDateTimeOffset().ToUnixTimeMilliseconds();
            var end = start + (long)((waveform.FirstSampleIndex + (ulong)waveform.VoltageDeltas.Count) * 1000 / waveform.SamplingFrequencyHz);
            var chunk = $"chunk {waveform.ChunkIndex + 1}/{waveform.ChunkCount}, {waveform.VoltageDeltas.Count} points at {waveform.SamplingFrequencyHz} Hz";
            rows.Add((start, Row("waveform", waveform.Uuid, waveform.Type, waveform.VendorType, start, end, null, waveform.Unit, chunk, waveform.Source, "", zone)));
        }

        return rows.OrderBy(row => row.Start).Select(row => row.Row);
    }

    public static string TypeName(DataType type, string vendorType) => type == DataType.Vendor && vendorType.Length > 0 ? vendorType : type.ToString();

    public static DateTimeOffset Local(long unixMs, DateTimeZone zone) => Instant.FromUnixTimeMilliseconds(unixMs).InZone(zone).ToDateTimeOffset();

    private static object?[] Row(string kind, Google.Protobuf.ByteString uuid, DataType type, string vendorType, long start, long end, object? value, string unit, string? category, Source? source, string deviceId, DateTimeZone zone) =>
    [
        kind, Uuid(uuid), TypeName(type, vendorType), Local(start, zone), Local(end, zone), value, unit, category,
        source?.Kind.ToString(), source?.Name, deviceId,
    ];

    private static string Uuid(Google.Protobuf.ByteString uuid) => uuid.Length == 16 ? SampleUuid.ToGuid(uuid).ToString() : Convert.ToHexString(uuid.Span);

    private static string CategoryName(DataType type, int category) => type switch
    {
        DataType.SleepAnalysis => ((SleepStage)category).ToString(),
        DataType.Ecg => ((EcgClassification)category).ToString(),
        _ => category.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
