using HealthGrpc.Benchmarks.Codec;
using HealthGrpc.Benchmarks.Data;

namespace HealthGrpc.Benchmarks.Tests;

/// <summary>Allocation budgets of protobuf encode/decode and series columns, run through the codec benchmarks.</summary>
public sealed class CodecAllocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// CalculateSize + serializing a 1,000-sample request into a caller's buffer walks the message only. Measured 0 B;
    /// budget 16 B per batch, below the smallest object: any allocation per call fails it.
    /// </summary>
    private const double EncodeIntoBufferBytesPerBatch = 16;

    /// <summary>
    /// Decoding a 1,000-sample request (Google.Protobuf 3.25.1 object graph): per sample the Sample object, its boxed
    /// oneof value, its 16-byte uuid ByteString and array, and an (empty) metadata MapField with its dictionary and
    /// linked list, plus the grown RepeatedField array. Measured 354 B/sample; budget 400 (13% headroom).
    /// </summary>
    private const double DecodeBytesPerSample = 400;

    /// <summary>Series columns → points into a pre-sized list: measured 0 B per call; budget 16 B per call (below any object), so 0 per point.</summary>
    private const double SeriesDecodeBytesPerCall = 16;

    /// <summary>Points → columns into a reused Series: one Timestamp per call (measured 40 B), 0 per point; budget 64 B per call.</summary>
    private const double SeriesEncodeBytesPerCall = 64;

    /// <summary>
    /// Parsing a 3,600-point series: the packed value column (8 B/point, and the RepeatedField grows by doubling
    /// because a packed varint column does not announce its count). Measured 18.5 B/point; budget 24.
    /// </summary>
    private const double SeriesParseBytesPerPoint = 24;

    [Fact]
    public void Encoding_a_1000_sample_batch_into_a_buffer_allocates_nothing()
    {
        var bench = new BatchCodecBenchmarks();
        bench.Setup();
        var measured = Allocations.PerCall(bench.Encode_IntoBuffer, warmup: 100, iterations: 1_000);
        Allocations.Report(output, $"encode {bench.EncodedBytes:N0}-byte batch into buffer", measured, EncodeIntoBufferBytesPerBatch, "B/batch");
        Assert.InRange(measured, 0, EncodeIntoBufferBytesPerBatch);
    }

    [Fact]
    public void Decoding_a_1000_sample_batch_allocates_under_the_per_sample_budget()
    {
        var bench = new BatchCodecBenchmarks();
        bench.Setup();
        var measured = Allocations.PerCall(bench.Decode, warmup: 50, iterations: 500) / HeartRateData.BatchSamples;
        Allocations.Report(output, "decode 1,000-sample batch", measured, DecodeBytesPerSample, "B/sample");
        Assert.InRange(measured, 0, DecodeBytesPerSample);
    }

    [Fact]
    public void Decoding_series_columns_into_a_presized_list_allocates_nothing_per_point()
    {
        var bench = new SeriesCodecBenchmarks();
        bench.Setup();
        var measured = Allocations.PerCall(bench.Columns_Decode, warmup: 100, iterations: 2_000);
        Allocations.Report(output, $"decode {HeartRateData.SeriesPoints:N0}-point series columns ({measured / HeartRateData.SeriesPoints:N3} B/point)", measured, SeriesDecodeBytesPerCall, "B/call");
        Assert.InRange(measured, 0, SeriesDecodeBytesPerCall);
    }

    [Fact]
    public void Encoding_series_columns_into_a_reused_series_allocates_nothing_per_point()
    {
        var bench = new SeriesCodecBenchmarks();
        bench.Setup();
        var measured = Allocations.PerCall(bench.Columns_Encode, warmup: 100, iterations: 2_000);
        Allocations.Report(output, $"encode {HeartRateData.SeriesPoints:N0}-point series columns ({measured / HeartRateData.SeriesPoints:N3} B/point)", measured, SeriesEncodeBytesPerCall, "B/call");
        Assert.InRange(measured, 0, SeriesEncodeBytesPerCall);
    }

    [Fact]
    public void Parsing_a_series_allocates_under_the_per_point_budget()
    {
        var bench = new SeriesCodecBenchmarks();
        bench.Setup();
        var measured = Allocations.PerCall(bench.Proto_Parse, warmup: 100, iterations: 1_000) / HeartRateData.SeriesPoints;
        Allocations.Report(output, $"parse {bench.EncodedBytes:N0}-byte series", measured, SeriesParseBytesPerPoint, "B/point");
        Assert.InRange(measured, 0, SeriesParseBytesPerPoint);
    }
}
