using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using HealthGrpc.Benchmarks.Data;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Benchmarks.Codec;

/// <summary>A 3,600-point (1 h at 1 Hz) heart-rate series: delta columns (SeriesColumns) and their protobuf bytes.</summary>
[MemoryDiagnoser]
public class SeriesCodecBenchmarks
{
    private SeriesPoint[] _points = null!;
    private Series _series = null!;
    private Series _target = null!;
    private byte[] _encoded = null!;
    private Series _parsed = null!;
    private List<SeriesPoint> _decoded = null!;

    /// <summary>Encoded size of the series in bytes.</summary>
    public int EncodedBytes => _encoded.Length;

    [GlobalSetup]
    public void Setup()
    {
        _points = HeartRateData.HeartRatePoints(HeartRateData.SeriesPoints);
        _series = HeartRateData.HeartRateSeries(_points);
        _encoded = _series.ToByteArray();
        _parsed = Series.Parser.ParseFrom(_encoded);
        _target = HeartRateData.NewSeries();
        SeriesColumns.Encode(_target, _points); // columns grow once; later encodes reuse their capacity
        _decoded = new List<SeriesPoint>(HeartRateData.SeriesPoints);
    }

    /// <summary>Points → delta columns into a reused Series (columns keep their capacity).</summary>
    [Benchmark]
    public int Columns_Encode()
    {
        SeriesColumns.Encode(_target, _points);
        return _target.ValueDeltas.Count;
    }

    /// <summary>Delta columns → points into a pre-sized list.</summary>
    [Benchmark]
    public int Columns_Decode()
    {
        SeriesColumns.Decode(_parsed, _decoded);
        return _decoded.Count;
    }

    /// <summary>Series → protobuf bytes (packed sint64 columns).</summary>
    [Benchmark]
    public byte[] Proto_Serialize() => _series.ToByteArray();

    /// <summary>Protobuf bytes → Series.</summary>
    [Benchmark]
    public Series Proto_Parse() => Series.Parser.ParseFrom(_encoded);
}
