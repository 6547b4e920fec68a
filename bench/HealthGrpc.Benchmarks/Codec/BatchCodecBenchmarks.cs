using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using HealthGrpc.Benchmarks.Data;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Benchmarks.Codec;

/// <summary>Protobuf encode/decode of one Sync request carrying a 1,000-sample heart-rate batch (16-byte client uuids).</summary>
[MemoryDiagnoser]
public class BatchCodecBenchmarks
{
    private SyncRequest _request = null!;
    private byte[] _encoded = null!;
    private byte[] _buffer = null!;

    /// <summary>Encoded size of the request in bytes.</summary>
    public int EncodedBytes => _encoded.Length;

    [GlobalSetup]
    public void Setup()
    {
        _request = HeartRateData.HeartRateBatch(HeartRateData.BatchSamples, withUuids: true);
        _encoded = _request.ToByteArray();
        _buffer = new byte[_encoded.Length];
    }

    /// <summary>CalculateSize + serialize into a new array (what ToByteArray callers pay).</summary>
    [Benchmark]
    public byte[] Encode_ToByteArray() => _request.ToByteArray();

    /// <summary>CalculateSize + serialize into a caller's buffer: the message walk only, no allocation.</summary>
    [Benchmark]
    public int Encode_IntoBuffer()
    {
        var size = _request.CalculateSize();
        _request.WriteTo(_buffer.AsSpan(0, size));
        return size;
    }

    /// <summary>Parse the 1,000 samples back into the protobuf object graph.</summary>
    [Benchmark]
    public SyncRequest Decode() => SyncRequest.Parser.ParseFrom(_encoded);
}
