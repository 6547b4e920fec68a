using HealthGrpc.Benchmarks.Rpc;

namespace HealthGrpc.Benchmarks.Tests;

/// <summary>Allocation budgets of gRPC framing (HealthGrpc.Rpc GrpcFraming), run through <see cref="FramingBenchmarks"/>.</summary>
public sealed class FramingAllocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// Framing + serializing one already-built message into a PipeWriter, flushing, and draining it on the reader:
    /// everything is pooled (pipe segments, ArrayPool blocks), so the steady state allocates nothing. 32 B of headroom
    /// Measured 0 B. The budget, 16 B per message, is smaller than the smallest object (24 B on x64): one allocation per
    /// message (a boxed value, a closure, a byte[] copy of the header) fails it.
    /// </summary>
    private const double WriteBytesPerMessage = 16;

    /// <summary>
    /// Reading the 5-byte prefix and parsing from a ReadOnlySequence costs the protobuf object graph and nothing else:
    /// measured as the difference to Parser.ParseFrom(ReadOnlySequence) of the bare payload (the same graph, ~354 KB for
    /// 1,000 samples). Measured 0 B for one segment and for 4 KiB segments; 64 B per message of headroom (a couple of
    /// small objects at most, against a ~354 KB graph).
    /// </summary>
    private const double ReadOverheadBytesPerMessage = 64;

    private readonly FramingBenchmarks _bench = Setup();

    [Fact]
    public void Writing_a_framed_1000_sample_batch_into_a_PipeWriter_allocates_nothing_beyond_the_message()
    {
        var measured = Allocations.PerCall(_bench.Write_Batch_PipeWriter, warmup: 200, iterations: 2_000);
        Allocations.Report(output, "write 1,000-sample batch frame", measured, WriteBytesPerMessage, "B/message");
        Assert.InRange(measured, 0, WriteBytesPerMessage);
    }

    [Fact]
    public void Writing_a_framed_ack_into_a_PipeWriter_allocates_nothing_beyond_the_message()
    {
        var measured = Allocations.PerCall(_bench.Write_Ack_PipeWriter, warmup: 1_000, iterations: 100_000);
        Allocations.Report(output, "write ack frame", measured, WriteBytesPerMessage, "B/message");
        Assert.InRange(measured, 0, WriteBytesPerMessage);
    }

    [Fact]
    public void Reading_a_frame_from_one_segment_allocates_only_the_protobuf_object_graph()
    {
        var graph = Allocations.PerCall(_bench.Parse_Payload, warmup: 100, iterations: 500);
        var read = Allocations.PerCall(_bench.Read_Batch_SingleSegment, warmup: 100, iterations: 500);
        Allocations.Report(output, $"read single-segment frame (object graph {graph:N0} B)", read - graph, ReadOverheadBytesPerMessage, "B/message beyond the graph");
        Assert.InRange(read - graph, -ReadOverheadBytesPerMessage, ReadOverheadBytesPerMessage);
    }

    [Fact]
    public void Reading_a_frame_from_4KiB_segments_allocates_only_the_protobuf_object_graph()
    {
        var graph = Allocations.PerCall(_bench.Parse_Payload, warmup: 100, iterations: 500);
        var read = Allocations.PerCall(_bench.Read_Batch_Segmented, warmup: 100, iterations: 500);
        Allocations.Report(output, $"read 4 KiB-segmented frame (object graph {graph:N0} B)", read - graph, ReadOverheadBytesPerMessage, "B/message beyond the graph");
        Assert.InRange(read - graph, -ReadOverheadBytesPerMessage, ReadOverheadBytesPerMessage);
    }

    private static FramingBenchmarks Setup()
    {
        var bench = new FramingBenchmarks();
        bench.Setup();
        return bench;
    }
}
