using BenchmarkDotNet.Attributes;
using HealthGrpc.Benchmarks.Data;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;

namespace HealthGrpc.Benchmarks.Ingest;

/// <summary>Dedup key derivation: the content uuid of one heart-rate sample (SHA-256 over type, times, value, unit, source).</summary>
[MemoryDiagnoser]
public class ContentUuidBenchmarks
{
    private long _start;
    private double _bpm;

    [GlobalSetup]
    public void Setup()
    {
        _start = HeartRateData.BaseUnixMs;
        _bpm = 72;
    }

    [Benchmark]
    public Guid Derive() =>
        ContentUuid.Derive((int)DataType.HeartRate, null, _start, _start, _bpm, null, "count/min", "Apple Watch", "Apple", "Watch7,1", "com.apple.health");
}
