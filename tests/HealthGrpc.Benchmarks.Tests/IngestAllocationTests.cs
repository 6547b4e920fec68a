using HealthGrpc.Benchmarks.Data;
using HealthGrpc.Benchmarks.Ingest;

namespace HealthGrpc.Benchmarks.Tests;

/// <summary>Allocation budgets of validation + normalization and content-uuid derivation.</summary>
public sealed class IngestAllocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// Validating a 1,000-sample batch with client uuids: one SampleRecord per sample (the store's input) plus the
    /// grown result list. Measured 209 B/sample; budget 250 (20% headroom).
    /// </summary>
    private const double ValidateBytesPerSample = 250;

    /// <summary>
    /// Same batch without uuids: ContentUuid.Derive adds nothing (see below), so the same budget holds. Measured
    /// 209 B/sample; budget 250.
    /// </summary>
    private const double ValidateContentUuidBytesPerSample = 250;

    /// <summary>
    /// One ContentUuid.Derive: the identity is encoded into a stack buffer and hashed with one-shot SHA-256, so it
    /// allocates nothing. Measured 0 B/call; budget 16 (less than any object).
    /// </summary>
    private const double DeriveBytesPerCall = 16;

    private readonly ValidationBenchmarks _validation = SetupValidation();

    [Fact]
    public void Validating_a_1000_sample_batch_allocates_under_the_per_sample_budget()
    {
        var measured = Allocations.PerCall(_validation.Validate_ClientUuids, warmup: 50, iterations: 500) / HeartRateData.BatchSamples;
        Allocations.Report(output, "validate 1,000 samples (client uuids)", measured, ValidateBytesPerSample, "B/sample");
        Assert.InRange(measured, 0, ValidateBytesPerSample);
    }

    [Fact]
    public void Validating_a_1000_sample_batch_without_uuids_allocates_under_the_per_sample_budget()
    {
        var measured = Allocations.PerCall(_validation.Validate_ContentUuids, warmup: 20, iterations: 100) / HeartRateData.BatchSamples;
        Allocations.Report(output, "validate 1,000 samples (content uuids)", measured, ValidateContentUuidBytesPerSample, "B/sample");
        Assert.InRange(measured, 0, ValidateContentUuidBytesPerSample);
    }

    [Fact]
    public void Deriving_a_content_uuid_allocates_under_the_budget()
    {
        var bench = new ContentUuidBenchmarks();
        bench.Setup();
        var measured = Allocations.PerCall(bench.Derive, warmup: 1_000, iterations: 20_000);
        Allocations.Report(output, "ContentUuid.Derive", measured, DeriveBytesPerCall, "B/call");
        Assert.InRange(measured, 0, DeriveBytesPerCall);
    }

    private static ValidationBenchmarks SetupValidation()
    {
        var bench = new ValidationBenchmarks();
        bench.Setup();
        return bench;
    }
}
