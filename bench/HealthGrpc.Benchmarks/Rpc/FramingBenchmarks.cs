using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using HealthGrpc.Benchmarks.Data;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Rpc.Internal;

namespace HealthGrpc.Benchmarks.Rpc;

/// <summary>
/// gRPC length-prefixed framing (HealthGrpc.Rpc GrpcFraming) of a Sync request carrying 1,000 samples: written into a
/// PipeWriter, and read (5-byte prefix + protobuf parse) from a single-segment and a 4 KiB-segmented ReadOnlySequence.
/// Parse_Payload is the message-only reference: parsing the same payload bytes as a sequence, with no framing at all
/// (Parse_ByteArray shows what the byte[] overload adds: a CodedInputStream).
/// </summary>
[MemoryDiagnoser]
public class FramingBenchmarks
{
    private const int MaxMessageBytes = 4 * 1024 * 1024;

    private Pipe _pipe = null!;
    private SyncRequest _request = null!;
    private SyncResponse _ack = null!;
    private byte[] _payload = null!;
    private ReadOnlySequence<byte> _payloadSequence;
    private ReadOnlySequence<byte> _singleSegment;
    private ReadOnlySequence<byte> _segmented;

    [GlobalSetup]
    public void Setup()
    {
        // No back-pressure: every write is flushed and fully read back within the operation.
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
        _request = HeartRateData.HeartRateBatch(HeartRateData.BatchSamples, withUuids: true);
        _ack = new SyncResponse { Ack = new Ack { BatchSeq = 1, Outcome = AckOutcome.Committed, Accepted = 1_000, HighWaterMark = 1, ChangeToken = "c1.1000" } };
        _payload = _request.ToByteArray();
        _payloadSequence = new ReadOnlySequence<byte>(_payload);
        var framed = GrpcFraming.ToFramedArray(_request, null, gzip: false);
        _singleSegment = new ReadOnlySequence<byte>(framed);
        _segmented = Segments.Split(framed, 4096);
    }

    /// <summary>Frame + serialize the 1,000-sample request into the pipe, flush, and consume it on the reader side.</summary>
    [Benchmark]
    public long Write_Batch_PipeWriter() => WriteAndDrain(_request);

    /// <summary>Same for a small message (an Ack): the fixed per-message cost.</summary>
    [Benchmark]
    public long Write_Ack_PipeWriter() => WriteAndDrain(_ack);

    /// <summary>Read the 5-byte prefix and parse the request from one contiguous segment.</summary>
    [Benchmark]
    public SyncRequest Read_Batch_SingleSegment() => ReadOne(_singleSegment);

    /// <summary>Read the 5-byte prefix and parse the request from 4 KiB segments (as a pipe delivers a large message).</summary>
    [Benchmark]
    public SyncRequest Read_Batch_Segmented() => ReadOne(_segmented);

    /// <summary>Reference: parse the same payload (no prefix) from a sequence: the protobuf object graph alone.</summary>
    [Benchmark(Baseline = true)]
    public SyncRequest Parse_Payload() => SyncRequest.Parser.ParseFrom(_payloadSequence);

    /// <summary>Reference: parse the same payload from a byte array (the byte[] overload adds a CodedInputStream).</summary>
    [Benchmark]
    public SyncRequest Parse_ByteArray() => SyncRequest.Parser.ParseFrom(_payload);

    private long WriteAndDrain(IMessage message)
    {
        GrpcFraming.WriteMessage(_pipe.Writer, message, MaxMessageBytes, gzip: false);
        var flush = _pipe.Writer.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("flush did not complete synchronously");
        }

        _ = flush.Result;
        if (!_pipe.Reader.TryRead(out var read))
        {
            throw new InvalidOperationException("nothing to read");
        }

        var length = read.Buffer.Length;
        _pipe.Reader.AdvanceTo(read.Buffer.End);
        return length;
    }

    private static SyncRequest ReadOne(ReadOnlySequence<byte> framed)
    {
        var buffer = framed;
        if (!GrpcFraming.TryReadFrame(ref buffer, MaxMessageBytes, out var compressed, out var payload))
        {
            throw new InvalidOperationException("incomplete frame");
        }

        return GrpcFraming.ParsePayload(SyncRequest.Parser, payload, compressed, null, MaxMessageBytes);
    }
}
