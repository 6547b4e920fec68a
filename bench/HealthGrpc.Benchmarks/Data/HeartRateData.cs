using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Benchmarks.Data;

/// <summary>
/// Realistic heart-rate data for the benchmarks and the allocation-budget tests: 1 Hz samples from a watch, a
/// mean-reverting random walk around 70 bpm (integer bpm, as watches report it), seeded so every run sees the same bytes.
/// </summary>
public static class HeartRateData
{
    /// <summary>Samples in a discrete batch (one SyncRequest).</summary>
    public const int BatchSamples = 1_000;

    /// <summary>Points in a series (one hour at 1 Hz).</summary>
    public const int SeriesPoints = 3_600;

    /// <summary>Fixed, in the past (validation rejects future starts): 2025-06-01T08:00:00Z.</summary>
    public static readonly long BaseUnixMs = new DateTimeOffset(2025, 6, 1, 8, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>The wire source of every sample.</summary>
    public static Source WatchSource() => new()
    {
        Kind = DeviceKind.Watch,
        Name = "Apple Watch",
        Manufacturer = "Apple",
        Model = "Watch7,1",
        HardwareVersion = "Watch7,1",
        SoftwareVersion = "11.1",
        AppId = "com.apple.health",
    };

    /// <summary>The store-side source matching <see cref="WatchSource"/>.</summary>
    public static SourceRecord WatchSourceRecord() =>
        new((int)DeviceKind.Watch, "Apple Watch", "Apple", "Watch7,1", "Watch7,1", "11.1", "com.apple.health");

    /// <summary>Mean-reverting random walk around 70 bpm, clamped to 40..190, one value per second.</summary>
    public static int[] RandomWalkBpm(int count, int seed = 42)
    {
        var random = new Random(seed);
        var values = new int[count];
        var bpm = 70.0;
        for (var i = 0; i < count; i++)
        {
            bpm += (0.05 * (70.0 - bpm)) + ((random.NextDouble() - 0.5) * 3.0);
            bpm = Math.Clamp(bpm, 40.0, 190.0);
            values[i] = (int)Math.Round(bpm);
        }

        return values;
    }

    /// <summary>
    /// A Sync request carrying one heart-rate sample set of <paramref name="count"/> 1 Hz samples, with 16-byte client
    /// uuids (HealthKit / Health Connect ids) or without (a vendor without stable ids: the server derives content uuids).
    /// </summary>
    public static SyncRequest HeartRateBatch(int count = BatchSamples, bool withUuids = true, int seed = 42)
    {
        var values = RandomWalkBpm(count, seed);
        var random = new Random(seed + 1);
        Span<byte> uuid = stackalloc byte[SampleUuid.Length];
        var set = new SampleSet
        {
            Type = DataType.HeartRate,
            Unit = "count/min",
            Source = WatchSource(),
            BaseTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(BaseUnixMs)),
            ZoneOffsetMinutes = 120,
        };
        for (var i = 0; i < count; i++)
        {
            var sample = new Sample { StartOffsetMs = i * 1_000L, ScaledValue = values[i] };
            if (withUuids)
            {
                random.NextBytes(uuid);
                sample.Uuid = ByteString.CopyFrom(uuid);
            }

            set.Samples.Add(sample);
        }

        var batch = new Batch
        {
            BatchSeq = 1,
            Priority = Priority.Batch,
            Anchors = { new SourceAnchor { Type = DataType.HeartRate, Anchor = ByteString.CopyFromUtf8("hk-anchor-000001") } },
            SampleSets = { set },
        };
        return new SyncRequest { Batch = batch };
    }

    /// <summary><paramref name="count"/> regularly spaced 1 Hz points of the random walk.</summary>
    public static SeriesPoint[] HeartRatePoints(int count = SeriesPoints, int seed = 42)
    {
        var values = RandomWalkBpm(count, seed);
        var points = new SeriesPoint[count];
        for (var i = 0; i < count; i++)
        {
            points[i] = new SeriesPoint(BaseUnixMs + (i * 1_000L), values[i]);
        }

        return points;
    }

    /// <summary>A heart-rate series with its columns encoded from <paramref name="points"/>.</summary>
    public static Series HeartRateSeries(ReadOnlySpan<SeriesPoint> points)
    {
        var series = NewSeries();
        SeriesColumns.Encode(series, points);
        return series;
    }

    /// <summary>A series header (uuid, type, unit, source) without columns.</summary>
    public static Series NewSeries() => new()
    {
        Uuid = SampleUuid.ToByteString(new Guid("0196f4a2-7c3e-7d41-9a2b-3c4d5e6f7a8b")),
        Type = DataType.HeartRate,
        Unit = "count/min",
        Source = WatchSource(),
        ZoneOffsetMinutes = 120,
    };

    /// <summary>
    /// Normalized store rows (what the validator hands the store): <paramref name="count"/> 1 Hz heart-rate samples
    /// starting at <paramref name="startUnixMs"/>, each with a fresh uuid (so repeated inserts never hit a duplicate).
    /// </summary>
    public static SampleRecord[] SampleRecords(int count, long startUnixMs, SourceRecord source)
    {
        var values = RandomWalkBpm(count, seed: (int)(startUnixMs % int.MaxValue));
        var rows = new SampleRecord[count];
        for (var i = 0; i < count; i++)
        {
            var t = startUnixMs + (i * 1_000L);
            rows[i] = new SampleRecord(Guid.NewGuid(), (int)DataType.HeartRate, null, t, t, 120, values[i], null, "count/min", source, null, 0, null);
        }

        return rows;
    }
}
