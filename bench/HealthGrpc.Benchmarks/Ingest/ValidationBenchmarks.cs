using BenchmarkDotNet.Attributes;
using HealthGrpc.Benchmarks.Data;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;

namespace HealthGrpc.Benchmarks.Ingest;

/// <summary>
/// BatchValidator.Validate on a 1,000-sample heart-rate batch: type/unit resolution, range checks, unit conversion,
/// absolute times, one SampleRecord per sample. With client uuids, and without (content uuid derived per sample).
/// </summary>
[MemoryDiagnoser]
public class ValidationBenchmarks
{
    private BatchValidator _validator = null!;
    private Batch _withUuids = null!;
    private Batch _withoutUuids = null!;

    [GlobalSetup]
    public void Setup()
    {
        _validator = new BatchValidator(new IngestLimits(), TimeProvider.System);
        _withUuids = HeartRateData.HeartRateBatch(HeartRateData.BatchSamples, withUuids: true).Batch;
        _withoutUuids = HeartRateData.HeartRateBatch(HeartRateData.BatchSamples, withUuids: false).Batch;
    }

    /// <summary>Returns the number of valid samples (1,000); throws if any was rejected.</summary>
    [Benchmark(Baseline = true)]
    public int Validate_ClientUuids() => Accepted(_validator.Validate(_withUuids));

    /// <summary>Same batch without uuids: every sample gets a SHA-256 content uuid.</summary>
    [Benchmark]
    public int Validate_ContentUuids() => Accepted(_validator.Validate(_withoutUuids));

    private static int Accepted(ValidatedBatch validated) =>
        validated.Rejections.Count == 0
            ? validated.Samples.Count
            : throw new InvalidOperationException($"benchmark batch rejected: {validated.Rejections[0]}");
}
