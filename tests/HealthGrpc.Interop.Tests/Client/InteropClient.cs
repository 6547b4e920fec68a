using Google.Protobuf;
using Google.Protobuf.Reflection;
using HealthGrpc.Interop.Tests.Infrastructure;
using HealthGrpc.Interop.Tests.Testing;
using HealthGrpc.Rpc;

namespace HealthGrpc.Interop.Tests.Client;

/// <summary>What the server under test can do beyond the mandatory features.</summary>
/// <param name="CompressesResponses">
/// False for grpc-js: its server never sets the compressed flag (server-interceptors.js: "response compression is
/// currently not supported"). The server_compressed_* cases then assert that responses arrive uncompressed and intact.
/// </param>
internal sealed record PeerCapabilities(bool CompressesResponses);

/// <summary>
/// The standard interop client cases (grpc/grpc doc/interop-test-descriptions.md) on HealthGrpc.Rpc's
/// <see cref="RpcChannel"/>. Each case throws (xunit assertion or <see cref="RpcException"/>) on failure.
/// </summary>
internal sealed class InteropClient(RpcChannel channel, ResponseFlagHandler flags, PeerCapabilities peer)
{
    public static readonly string[] Cases =
    [
        "empty_unary",
        "large_unary",
        "client_compressed_unary",
        "server_compressed_unary",
        "client_streaming",
        "client_compressed_streaming",
        "server_streaming",
        "server_compressed_streaming",
        "ping_pong",
        "empty_stream",
        "custom_metadata",
        "status_code_and_message",
        "special_status_message",
        "unimplemented_method",
        "unimplemented_service",
        "cancel_after_begin",
        "cancel_after_first_response",
        "timeout_on_sleeping_server",
    ];

    public const string StatusMessage = "test status message";
    public const string SpecialStatusMessage = "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \U0001F608\t\n";

    private static readonly int[] RequestSizes = [27182, 8, 1828, 45904];
    private static readonly int[] ResponseSizes = [31415, 9, 2653, 58979];
    private static readonly byte[] TrailingValue = [0xab, 0xab, 0xab];

    private static readonly ServiceDescriptor TestService = Find("grpc.testing.TestService");
    private static readonly ServiceDescriptor UnimplementedService = Find("grpc.testing.UnimplementedService");

    private static readonly RpcMethod<Empty, Empty> EmptyCall = RpcMethod<Empty, Empty>.From(TestService.FindMethodByName("EmptyCall"));
    private static readonly RpcMethod<SimpleRequest, SimpleResponse> UnaryCall = RpcMethod<SimpleRequest, SimpleResponse>.From(TestService.FindMethodByName("UnaryCall"));
    private static readonly RpcMethod<StreamingOutputCallRequest, StreamingOutputCallResponse> StreamingOutputCall =
        RpcMethod<StreamingOutputCallRequest, StreamingOutputCallResponse>.From(TestService.FindMethodByName("StreamingOutputCall"));
    private static readonly RpcMethod<StreamingInputCallRequest, StreamingInputCallResponse> StreamingInputCall =
        RpcMethod<StreamingInputCallRequest, StreamingInputCallResponse>.From(TestService.FindMethodByName("StreamingInputCall"));
    private static readonly RpcMethod<StreamingOutputCallRequest, StreamingOutputCallResponse> FullDuplexCall =
        RpcMethod<StreamingOutputCallRequest, StreamingOutputCallResponse>.From(TestService.FindMethodByName("FullDuplexCall"));
    private static readonly RpcMethod<Empty, Empty> UnimplementedMethod = RpcMethod<Empty, Empty>.From(TestService.FindMethodByName("UnimplementedCall"));
    private static readonly RpcMethod<Empty, Empty> UnimplementedServiceCall = RpcMethod<Empty, Empty>.From(UnimplementedService.FindMethodByName("UnimplementedCall"));

    public Task RunAsync(string testCase) => testCase switch
    {
        "empty_unary" => EmptyUnaryAsync(),
        "large_unary" => LargeUnaryAsync(),
        "client_compressed_unary" => ClientCompressedUnaryAsync(),
        "server_compressed_unary" => ServerCompressedUnaryAsync(),
        "client_streaming" => ClientStreamingAsync(),
        "client_compressed_streaming" => ClientCompressedStreamingAsync(),
        "server_streaming" => ServerStreamingAsync(),
        "server_compressed_streaming" => ServerCompressedStreamingAsync(),
        "ping_pong" => PingPongAsync(),
        "empty_stream" => EmptyStreamAsync(),
        "custom_metadata" => CustomMetadataAsync(),
        "status_code_and_message" => StatusCodeAndMessageAsync(),
        "special_status_message" => SpecialStatusMessageAsync(),
        "unimplemented_method" => ExpectUnimplementedAsync(UnimplementedMethod),
        "unimplemented_service" => ExpectUnimplementedAsync(UnimplementedServiceCall),
        "cancel_after_begin" => CancelAfterBeginAsync(),
        "cancel_after_first_response" => CancelAfterFirstResponseAsync(),
        "timeout_on_sleeping_server" => TimeoutOnSleepingServerAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(testCase), testCase, "Unknown interop test case."),
    };

    private async Task EmptyUnaryAsync()
    {
        var response = await channel.UnaryAsync(EmptyCall, new Empty()).WithTimeout();
        Assert.NotNull(response);
    }

    private async Task LargeUnaryAsync()
    {
        var response = await channel.UnaryAsync(UnaryCall, LargeRequest()).WithTimeout();
        AssertZeros(response.Payload, 314159);
    }

    private async Task ClientCompressedUnaryAsync()
    {
        // 1. Feature probe: uncompressed, but expect_compressed=true -> the server must answer INVALID_ARGUMENT.
        var probe = LargeRequest();
        probe.ExpectCompressed = new BoolValue { Value = true };
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(UnaryCall, probe).WithTimeout());
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);

        // 2. Compressed, expect_compressed=true.
        var compressed = LargeRequest();
        compressed.ExpectCompressed = new BoolValue { Value = true };
        var r1 = await channel.UnaryAsync(UnaryCall, compressed, new CallOptions(Compression: "gzip")).WithTimeout();
        AssertZeros(r1.Payload, 314159);

        // 3. Uncompressed, expect_compressed=false.
        var plain = LargeRequest();
        plain.ExpectCompressed = new BoolValue { Value = false };
        var r2 = await channel.UnaryAsync(UnaryCall, plain).WithTimeout();
        AssertZeros(r2.Payload, 314159);
    }

    private async Task ServerCompressedUnaryAsync()
    {
        foreach (var want in new[] { true, false })
        {
            var request = LargeRequest();
            request.ResponseCompressed = new BoolValue { Value = want };
            var (options, id) = Probed();
            var response = await channel.UnaryAsync(UnaryCall, request, options).WithTimeout();
            AssertZeros(response.Payload, 314159);
            var expected = want && peer.CompressesResponses;
            Assert.Equal([expected], flags.FlagsOf(id));
        }
    }

    private async Task ClientStreamingAsync()
    {
        using var call = channel.ClientStreaming(StreamingInputCall);
        foreach (var size in RequestSizes)
        {
            await call.RequestStream.WriteAsync(new StreamingInputCallRequest { Payload = Zeros(size) }).WithTimeout();
        }

        await call.RequestStream.CompleteAsync().WithTimeout();
        var response = await call.ResponseAsync.WithTimeout();
        Assert.Equal(74922, response.AggregatedPayloadSize);
    }

    private async Task ClientCompressedStreamingAsync()
    {
        // 1. Feature probe on its own call: an uncompressed message with expect_compressed=true -> INVALID_ARGUMENT.
        using (var probe = channel.ClientStreaming(StreamingInputCall))
        {
            try
            {
                await probe.RequestStream.WriteAsync(new StreamingInputCallRequest { ExpectCompressed = new BoolValue { Value = true }, Payload = Zeros(27182) }).WithTimeout();
                await probe.RequestStream.CompleteAsync().WithTimeout();
            }
            catch (RpcException)
            {
                // The server may already have failed the call; the status below is what counts.
            }

            var ex = await Assert.ThrowsAsync<RpcException>(() => probe.ResponseAsync.WithTimeout());
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        }

        // 2. A gzip call: the first message compressed (expect_compressed=true), the second sent uncompressed through
        // the per-message NoCompress write option (expect_compressed=false).
        using var call = channel.ClientStreaming(StreamingInputCall, new CallOptions(Compression: "gzip"));
        await call.RequestStream.WriteAsync(new StreamingInputCallRequest { ExpectCompressed = new BoolValue { Value = true }, Payload = Zeros(27182) }).WithTimeout();
        call.RequestStream.WriteOptions = new WriteOptions(NoCompress: true);
        await call.RequestStream.WriteAsync(new StreamingInputCallRequest { ExpectCompressed = new BoolValue { Value = false }, Payload = Zeros(45904) }).WithTimeout();
        await call.RequestStream.CompleteAsync().WithTimeout();
        var response = await call.ResponseAsync.WithTimeout();
        Assert.Equal(73086, response.AggregatedPayloadSize);
    }

    private async Task ServerStreamingAsync()
    {
        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.AddRange(ResponseSizes.Select(s => new ResponseParameters { Size = s }));
        using var call = channel.ServerStreaming(StreamingOutputCall, request);
        var responses = await ReadAllAsync(call.ResponseStream);
        Assert.Equal(ResponseSizes, responses.Select(r => r.Payload.Body.Length));
        foreach (var r in responses)
        {
            AssertZeros(r.Payload, r.Payload.Body.Length);
        }

        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    private async Task ServerCompressedStreamingAsync()
    {
        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.Add(new ResponseParameters { Compressed = new BoolValue { Value = true }, Size = 31415 });
        request.ResponseParameters.Add(new ResponseParameters { Compressed = new BoolValue { Value = false }, Size = 92653 });
        var (options, id) = Probed();
        using var call = channel.ServerStreaming(StreamingOutputCall, request, options);
        var responses = await ReadAllAsync(call.ResponseStream);
        Assert.Equal([31415, 92653], responses.Select(r => r.Payload.Body.Length));
        AssertZeros(responses[0].Payload, 31415);
        AssertZeros(responses[1].Payload, 92653);
        Assert.Equal([peer.CompressesResponses, false], flags.FlagsOf(id));
    }

    private async Task PingPongAsync()
    {
        using var call = channel.DuplexStreaming(FullDuplexCall);
        await using var responses = call.ResponseStream.GetAsyncEnumerator();
        for (var i = 0; i < RequestSizes.Length; i++)
        {
            var request = new StreamingOutputCallRequest { Payload = Zeros(RequestSizes[i]) };
            request.ResponseParameters.Add(new ResponseParameters { Size = ResponseSizes[i] });
            await call.RequestStream.WriteAsync(request).WithTimeout();
            Assert.True(await responses.MoveNextAsync().WithTimeout(), $"stream ended after {i} responses");
            AssertZeros(responses.Current.Payload, ResponseSizes[i]);
        }

        await call.RequestStream.CompleteAsync().WithTimeout();
        Assert.False(await responses.MoveNextAsync().WithTimeout(), "unexpected extra response");
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    private async Task EmptyStreamAsync()
    {
        using var call = channel.DuplexStreaming(FullDuplexCall);
        await call.RequestStream.CompleteAsync().WithTimeout();
        var responses = await ReadAllAsync(call.ResponseStream);
        Assert.Empty(responses);
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    private async Task CustomMetadataAsync()
    {
        using (var unary = channel.Unary(UnaryCall, LargeRequest(), new CallOptions(Headers: EchoHeaders())))
        {
            var response = await unary.ResponseAsync.WithTimeout();
            AssertZeros(response.Payload, 314159);
            var headers = await unary.ResponseHeadersAsync.WithTimeout();
            Assert.Equal("test_initial_metadata_value", headers.GetValue(InteropEcho.InitialKey));
            Assert.Equal(TrailingValue, unary.GetTrailers().GetBytes(InteropEcho.TrailingKey));
        }

        using var duplex = channel.DuplexStreaming(FullDuplexCall, new CallOptions(Headers: EchoHeaders()));
        var request = new StreamingOutputCallRequest { Payload = Zeros(271828) };
        request.ResponseParameters.Add(new ResponseParameters { Size = 314159 });
        await duplex.RequestStream.WriteAsync(request).WithTimeout();
        await duplex.RequestStream.CompleteAsync().WithTimeout();
        var responses = await ReadAllAsync(duplex.ResponseStream);
        Assert.Single(responses);
        AssertZeros(responses[0].Payload, 314159);
        var duplexHeaders = await duplex.ResponseHeadersAsync.WithTimeout();
        Assert.Equal("test_initial_metadata_value", duplexHeaders.GetValue(InteropEcho.InitialKey));
        Assert.Equal(TrailingValue, duplex.GetTrailers().GetBytes(InteropEcho.TrailingKey));
    }

    private async Task StatusCodeAndMessageAsync()
    {
        var echo = new EchoStatus { Code = 2, Message = StatusMessage };
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(UnaryCall, new SimpleRequest { ResponseStatus = echo }).WithTimeout());
        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Equal(StatusMessage, ex.Detail);

        using var duplex = channel.DuplexStreaming(FullDuplexCall);
        await duplex.RequestStream.WriteAsync(new StreamingOutputCallRequest { ResponseStatus = echo }).WithTimeout();
        await duplex.RequestStream.CompleteAsync().WithTimeout();
        var dex = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(duplex.ResponseStream));
        Assert.Equal(StatusCode.Unknown, dex.StatusCode);
        Assert.Equal(StatusMessage, dex.Detail);
        Assert.Equal(StatusCode.Unknown, duplex.GetStatus().Code);
        Assert.Equal(StatusMessage, duplex.GetStatus().Detail);
    }

    private async Task SpecialStatusMessageAsync()
    {
        var echo = new EchoStatus { Code = 2, Message = SpecialStatusMessage };
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(UnaryCall, new SimpleRequest { ResponseStatus = echo }).WithTimeout());
        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Equal(SpecialStatusMessage, ex.Detail);
    }

    private async Task ExpectUnimplementedAsync(RpcMethod<Empty, Empty> method)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(method, new Empty()).WithTimeout());
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    private async Task CancelAfterBeginAsync()
    {
        using var cts = new CancellationTokenSource();
        using var call = channel.ClientStreaming(StreamingInputCall, new CallOptions(CancellationToken: cts.Token));
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
    }

    private async Task CancelAfterFirstResponseAsync()
    {
        using var cts = new CancellationTokenSource();
        using var call = channel.DuplexStreaming(FullDuplexCall, new CallOptions(CancellationToken: cts.Token));
        await using var responses = call.ResponseStream.GetAsyncEnumerator();
        var request = new StreamingOutputCallRequest { Payload = Zeros(27182) };
        request.ResponseParameters.Add(new ResponseParameters { Size = 31415 });
        await call.RequestStream.WriteAsync(request).WithTimeout();
        Assert.True(await responses.MoveNextAsync().WithTimeout(), "no first response");
        AssertZeros(responses.Current.Payload, 31415);
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await responses.MoveNextAsync().WithTimeout());
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
    }

    private async Task TimeoutOnSleepingServerAsync()
    {
        using var call = channel.DuplexStreaming(FullDuplexCall, new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(1)));
        try
        {
            await call.RequestStream.WriteAsync(new StreamingOutputCallRequest { Payload = Zeros(27182) }).WithTimeout();
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            // The deadline may already have passed when the message is written: that is the same outcome.
        }

        var rex = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(call.ResponseStream));
        Assert.Equal(StatusCode.DeadlineExceeded, rex.StatusCode);
    }

    private static async Task<List<T>> ReadAllAsync<T>(IAsyncEnumerable<T> stream)
    {
        var list = new List<T>();
        await using var e = stream.GetAsyncEnumerator();
        while (await e.MoveNextAsync().WithTimeout())
        {
            list.Add(e.Current);
        }

        return list;
    }

    private static (CallOptions Options, string Id) Probed()
    {
        var id = Guid.NewGuid().ToString("N");
        return (new CallOptions(Headers: new Metadata { { ResponseFlagHandler.CallIdHeader, id } }), id);
    }

    private static Metadata EchoHeaders() => new()
    {
        { InteropEcho.InitialKey, "test_initial_metadata_value" },
        { InteropEcho.TrailingKey, TrailingValue },
    };

    private static SimpleRequest LargeRequest() => new() { ResponseSize = 314159, Payload = Zeros(271828) };

    private static Payload Zeros(int size) => new() { Type = PayloadType.Compressable, Body = ByteString.CopyFrom(new byte[size]) };

    private static void AssertZeros(Payload? payload, int size)
    {
        Assert.NotNull(payload);
        Assert.Equal(size, payload.Body.Length);
        Assert.True(payload.Body.Span.IndexOfAnyExcept((byte)0) < 0, "payload body is not all zeros");
    }

    private static ServiceDescriptor Find(string name) =>
        TestReflection.Descriptor.Services.SingleOrDefault(s => s.FullName == name)
        ?? throw new InvalidOperationException($"{name} not found in grpc/testing/test.proto.");
}

internal static class InteropEcho
{
    public const string InitialKey = "x-grpc-test-echo-initial";
    public const string TrailingKey = "x-grpc-test-echo-trailing-bin";
}
