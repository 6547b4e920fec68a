using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using HealthGrpc.Rpc.Internal;
using HealthGrpc.Rpc.Tests.Echo;

namespace HealthGrpc.Rpc.Tests;

public sealed class FramingTests
{
    private static byte[] Frame(IMessage message, bool gzip = false) => GrpcFraming.ToFramedArray(message, null, gzip);

    private static async Task<List<EchoRequest>> ReadAllAsync(PipeReader reader, int max = 4 * 1024 * 1024, string? encoding = null)
    {
        var list = new List<EchoRequest>();
        while (await GrpcFraming.ReadMessageAsync(reader, EchoRequest.Parser, max, encoding, CancellationToken.None).AsTask().Timed() is { } m)
        {
            list.Add(m);
        }

        return list;
    }

    [Fact]
    public async Task MessagesSplitAcrossOneByteReads_AreReassembled()
    {
        var bytes = Frame(EchoMethods.Req("first", 300, 1)).Concat(Frame(EchoMethods.Req("second", 0, 2))).ToArray();
        var pipe = new Pipe();
        var feeder = Task.Run(async () =>
        {
            foreach (var b in bytes)
            {
                await pipe.Writer.WriteAsync(new[] { b });
            }

            await pipe.Writer.CompleteAsync();
        });
        var messages = await ReadAllAsync(pipe.Reader);
        await feeder.Timed();
        Assert.Equal(["first", "second"], messages.Select(m => m.Text));
        Assert.Equal(300, messages[0].Payload.Length);
    }

    [Fact]
    public async Task StreamingReads_ParseAheadAtMostTheLimit_AndReturnTheRestWithoutNewBytes()
    {
        // 40 messages of ~1 KiB in one write, and the writer stays open: every message must come out of the bytes
        // already here, a few per read, and no read may wait for bytes that will never come.
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Enumerable.Range(1, 40).SelectMany(i => Frame(EchoMethods.Req($"m{i}", 1000, i))).ToArray());
        var queue = new Queue<EchoRequest>();
        var texts = new List<string>();
        var reads = 0;
        var atMostPerRead = (GrpcFraming.ParseAheadBytes / 1000) + 1; // the limit is checked before each message
        while (texts.Count < 40)
        {
            Assert.True(await GrpcFraming.ReadBatchAsync(pipe.Reader, EchoRequest.Parser, 4 * 1024 * 1024, null, queue, CancellationToken.None).AsTask().Timed());
            reads++;
            Assert.InRange(queue.Count, 1, atMostPerRead);
            while (queue.TryDequeue(out var m))
            {
                texts.Add(m.Text);
            }
        }

        Assert.Equal(Enumerable.Range(1, 40).Select(i => $"m{i}"), texts);
        await pipe.Writer.CompleteAsync();
    }

    [Fact]
    public async Task ZeroLengthMessages_AreDefaultInstances()
    {
        var empty = new EchoRequest();
        Assert.Equal([0, 0, 0, 0, 0], Frame(empty));
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frame(empty).Concat(Frame(empty)).ToArray());
        await pipe.Writer.CompleteAsync();
        var messages = await ReadAllAsync(pipe.Reader);
        Assert.Equal(2, messages.Count);
        Assert.All(messages, m => Assert.Equal(empty, m));
    }

    [Fact]
    public void LengthPrefixOverLimit_IsResourceExhausted_BeforePayloadArrives()
    {
        var seq = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0, 0x10, 0x01 });
        var ex = Assert.Throws<RpcException>(() => GrpcFraming.TryReadFrame(ref seq, 4096, out _, out _));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public void InvalidCompressedFlag_IsInternal()
    {
        var seq = new ReadOnlySequence<byte>(new byte[] { 2, 0, 0, 0, 0 });
        var ex = Assert.Throws<RpcException>(() => GrpcFraming.TryReadFrame(ref seq, 4096, out _, out _));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(12)]
    public async Task TruncatedFrameAtEndOfStream_IsInternal(int keep)
    {
        var bytes = Frame(EchoMethods.Req("truncated", 20));
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, keep));
        await pipe.Writer.CompleteAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(pipe.Reader));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task GzipFrame_RoundTrips()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frame(EchoMethods.Req("zip", 5000), gzip: true));
        await pipe.Writer.CompleteAsync();
        var messages = await ReadAllAsync(pipe.Reader, encoding: "gzip");
        Assert.Equal("zip", Assert.Single(messages).Text);
    }

    [Fact]
    public async Task GzipFrame_DecompressedOverLimit_IsResourceExhausted()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frame(EchoMethods.Req("zip", 50_000), gzip: true));
        await pipe.Writer.CompleteAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(pipe.Reader, max: 10_000, encoding: "gzip"));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Theory]
    [InlineData(null, StatusCode.Internal)]
    [InlineData("identity", StatusCode.Internal)]
    [InlineData("br", StatusCode.Unimplemented)]
    [InlineData("snappy", StatusCode.Unimplemented)]
    public void CompressedFlag_UnderNonGzipEncoding_Fails(string? encoding, StatusCode expected)
    {
        var frame = Frame(EchoMethods.Req("zip", 10), gzip: true);
        var seq = new ReadOnlySequence<byte>(frame);
        Assert.True(GrpcFraming.TryReadFrame(ref seq, 4096, out var compressed, out var payload));
        Assert.True(compressed);
        var ex = Assert.Throws<RpcException>(() => GrpcFraming.ParsePayload(EchoRequest.Parser, payload, compressed, encoding, 4096));
        Assert.Equal(expected, ex.StatusCode);
    }

    [Fact]
    public void GarbagePayload_IsInternal()
    {
        var seq = new ReadOnlySequence<byte>(new byte[] { 0xFF, 0xFF, 0xFF });
        var ex = Assert.Throws<RpcException>(() => GrpcFraming.ParsePayload(EchoRequest.Parser, seq, false, null, 4096));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("1500u", 15_000L)]
    [InlineData("1000n", 10L)]
    [InlineData("1n", 1L)]
    [InlineData("0m", 0L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void TimeoutParsing_EachUnit(string value, long expectedTicks)
    {
        Assert.True(GrpcProtocol.TryParseTimeout(value, out var timeout));
        Assert.Equal(expectedTicks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData(" 1S")]
    [InlineData("123456789S")]
    [InlineData("1 S")]
    public void TimeoutParsing_Malformed(string value) => Assert.False(GrpcProtocol.TryParseTimeout(value, out _));

    [Fact]
    public void TimeoutFormatting_FitsEightDigitsAndRoundTrips()
    {
        foreach (var t in new[] { TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromHours(30), TimeSpan.FromDays(5000) })
        {
            var s = GrpcProtocol.FormatTimeout(t);
            Assert.InRange(s.Length, 2, 9);
            Assert.True(GrpcProtocol.TryParseTimeout(s, out var parsed), s);
            Assert.True(parsed >= t, s);
        }
    }

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("100%", "100%25")]
    [InlineData("é", "%C3%A9")]
    [InlineData("a\nb", "a%0Ab")]
    public void PercentEncoding(string raw, string encoded)
    {
        Assert.Equal(encoded, GrpcProtocol.PercentEncode(raw));
        Assert.Equal(raw, GrpcProtocol.PercentDecode(encoded));
    }

    [Fact]
    public void PercentDecoding_IsLenientOnBadEscapes() => Assert.Equal("50%zz%", GrpcProtocol.PercentDecode("50%zz%"));

    [Fact]
    public void Metadata_KeysLowercased_BinaryRules()
    {
        var md = new Metadata { { "X-Key", "v" }, { "Data-Bin", new byte[] { 1, 2 } } };
        Assert.Equal("x-key", md[0].Key);
        Assert.Equal("v", md.GetValue("X-KEY"));
        Assert.Equal(new byte[] { 1, 2 }, md.GetBytes("data-bin"));
        Assert.Throws<ArgumentException>(() => md.Add("text-bin", "x"));
        Assert.Throws<ArgumentException>(() => md.Add("raw", new byte[] { 1 }));
        Assert.Throws<ArgumentException>(() => md.Add("bad key", "x"));
        Assert.Throws<ArgumentException>(() => md.Add("k", "nön-ascii"));
        Assert.Throws<ArgumentException>(() => md.Add("grpc-status", "0"));
    }

    [Fact]
    public void Metadata_BinaryAcceptsUnpaddedAndCommaJoinedValues()
    {
        var md = new Metadata();
        md.AddFromWire("x-bin", "AQI");
        md.AddFromWire("y-bin", "AQ==,Ag");
        Assert.Equal(new byte[] { 1, 2 }, md.GetBytes("x-bin"));
        Assert.Equal([[1], [2]], md.GetAll("y-bin").Select(e => e.ValueBytes));
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc+json", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void ContentTypeRecognition(string? contentType, bool expected) => Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(contentType));

    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    public void HttpStatusMapping(int http, StatusCode expected) => Assert.Equal(expected, GrpcProtocol.FromHttpStatus((System.Net.HttpStatusCode)http));

    [Fact]
    public void RpcMethod_From_ValidatesTypes()
    {
        var d = EchoMethods.Service.FindMethodByName("Duplex");
        var m = RpcMethod<EchoRequest, EchoResponse>.From(d);
        Assert.Equal("/healthgrpc.rpctest.EchoService/Duplex", m.FullName);
        Assert.Equal(MethodType.DuplexStreaming, m.Type);
        Assert.Throws<ArgumentException>(() => RpcMethod<EchoResponse, EchoResponse>.From(d));
    }
}
