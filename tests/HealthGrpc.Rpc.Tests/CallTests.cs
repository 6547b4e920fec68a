using Google.Protobuf;
using HealthGrpc.Rpc.Tests.Echo;
using static HealthGrpc.Rpc.Tests.EchoMethods;

namespace HealthGrpc.Rpc.Tests;

public sealed class CallTests
{
    [Fact]
    public async Task Unary_RoundTrips()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var response = await channel.UnaryAsync(Unary, Req("hello", 10, 3)).Timed();
        Assert.Equal("hello", response.Text);
        Assert.Equal(10, response.Payload.Length);
        Assert.Equal(3, response.Count);
    }

    [Fact]
    public async Task Unary_ManyConcurrentCalls_AllSucceed()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var tasks = Enumerable.Range(0, 200).Select(i => channel.UnaryAsync(Unary, Req("m" + i)));
        var responses = await Task.WhenAll(tasks).Timed();
        Assert.Equal(Enumerable.Range(0, 200).Select(i => "m" + i), responses.Select(r => r.Text));
    }

    [Fact]
    public async Task ClientStreaming_CountsMessages()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.ClientStreaming(ClientStream);
        for (var i = 0; i < 50; i++)
        {
            await call.RequestStream.WriteAsync(Req("x" + i, 7)).Timed();
        }

        await call.RequestStream.CompleteAsync().Timed();
        var response = await call.ResponseAsync.Timed();
        Assert.Equal(50, response.Count);
        Assert.Equal(350, response.TotalBytes);
        Assert.Equal("x49", response.Text);
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    [Fact]
    public async Task ClientStreaming_ServerFailsEarly_WriterAndResponseSeeStatus()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.ClientStreaming(ClientStream);
        await call.RequestStream.WriteAsync(Req("fail-early")).Timed();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Timed());
        Assert.Equal(StatusCode.Aborted, ex.StatusCode);
        var writeEx = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(Req("late")).Timed());
        Assert.Equal(StatusCode.Aborted, writeEx.StatusCode);
    }

    [Fact]
    public async Task ServerEndsTheCall_WhileTheClientUploads_TheStatusIsTheServers()
    {
        // The server fails the call on the first message while the client is still sending large ones: however the
        // client's writes end (buffered, or failed by the stream reset), the call's status is the server's.
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        for (var i = 0; i < 10; i++)
        {
            using var call = channel.ClientStreaming(ClientStream);
            await call.RequestStream.WriteAsync(Req("fail-early")).Timed();
            for (var w = 0; w < 32; w++)
            {
                if (await Record.ExceptionAsync(() => call.RequestStream.WriteAsync(Req("upload", 256 * 1024)).Timed()) is { } writeError)
                {
                    Assert.IsType<RpcException>(writeError);
                    break;
                }
            }

            var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Timed());
            Assert.Equal(StatusCode.Aborted, ex.StatusCode);
            Assert.Equal("stopped early", ex.Detail);
        }
    }

    [Fact]
    public async Task ServerStreaming_ReceivesAllMessagesAndTrailers()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(ServerStream, Req("go", 5, 25));
        var messages = await call.ResponseStream.ToListTimedAsync();
        Assert.Equal(Enumerable.Range(0, 25), messages.Select(m => m.Count));
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
        Assert.Equal("25", call.GetTrailers().GetValue("x-sent"));
    }

    [Fact]
    public async Task ServerStreaming_BufferHint_StillDeliversEverything()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(ServerStream, Req("buffered", 100, 1000));
        var messages = await call.ResponseStream.ToListTimedAsync();
        Assert.Equal(1000, messages.Count);
    }

    [Fact]
    public async Task ServerStreaming_ErrorAfterMessages_ThrowsWithTrailers()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(ServerStream, Req("fail:DataLoss:gone", 0, 3));
        var received = new List<EchoResponse>();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var m in call.ResponseStream)
            {
                received.Add(m);
            }
        }).Timed();
        Assert.Equal(3, received.Count);
        Assert.Equal(StatusCode.DataLoss, ex.StatusCode);
        Assert.Equal("gone", ex.Detail);
        Assert.Equal("stream", ex.Trailers.GetValue("x-after"));
        Assert.Equal(new byte[] { 9, 8, 7 }, ex.Trailers.GetBytes("x-fail-bin"));
    }

    [Fact]
    public async Task Duplex_EchoesInterleaved()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.DuplexStreaming(Duplex);
        var headers = await call.ResponseHeadersAsync.Timed();
        Assert.Equal("yes", headers.GetValue("x-duplex"));
        await using var reader = call.ResponseStream.GetAsyncEnumerator();
        for (var i = 0; i < 20; i++)
        {
            await call.RequestStream.WriteAsync(Req("d" + i)).Timed();
            Assert.True(await reader.MoveNextAsync().AsTask().Timed());
            Assert.Equal("d" + i, reader.Current.Text);
        }

        await call.RequestStream.CompleteAsync().Timed();
        Assert.False(await reader.MoveNextAsync().AsTask().Timed());
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    [Fact]
    public async Task PeekRequestMessageSize_SeesTheNextMessageBeforeItIsRead_AndTheEnd()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.DuplexStreaming(Duplex, new CallOptions(Headers: new Metadata { { "x-peek", "1" } }));
        await using var reader = call.ResponseStream.GetAsyncEnumerator();

        // One at a time, so nothing is parsed ahead: every size is the exact wire size, prefix included.
        foreach (var payload in new[] { 0, 10, 100_000, 3 * 1024 * 1024 })
        {
            var request = Req("p" + payload, payload);
            await call.RequestStream.WriteAsync(request).Timed();
            Assert.True(await reader.MoveNextAsync().AsTask().Timed());
            Assert.Equal("p" + payload, reader.Current.Text);
            Assert.Equal(request.CalculateSize() + 5, reader.Current.TotalBytes);
        }

        // A burst of small messages may be parsed a few at a time: then the peek says 0 (already parsed), never a wrong size.
        var burst = Enumerable.Range(0, 50).Select(i => Req("b" + i, 200)).ToList();
        foreach (var request in burst)
        {
            await call.RequestStream.WriteAsync(request).Timed();
        }

        await call.RequestStream.CompleteAsync().Timed();
        foreach (var request in burst)
        {
            Assert.True(await reader.MoveNextAsync().AsTask().Timed());
            Assert.Equal(request.Text, reader.Current.Text);
            Assert.Contains(reader.Current.TotalBytes, new long[] { 0, request.CalculateSize() + 5 });
        }

        Assert.False(await reader.MoveNextAsync().AsTask().Timed());
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    [Fact]
    public async Task Metadata_RoundTripsAsciiAndBinary()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var bin = new byte[] { 0, 255, 1, 254, 10, 13 };
        var headers = new Metadata { { "X-Text", "value with spaces" }, { "x-bin", bin } };
        using var call = channel.Unary(Unary, Req("headers"), new CallOptions(Headers: headers));
        var response = await call.ResponseAsync.Timed();
        Assert.Equal("value with spaces", response.Text);
        Assert.Equal(bin, response.Payload.ToByteArray());
        var responseHeaders = await call.ResponseHeadersAsync.Timed();
        Assert.Equal("h1", responseHeaders.GetValue("x-header"));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, responseHeaders.GetBytes("x-header-bin"));
        Assert.Equal("t1", call.GetTrailers().GetValue("x-trailer"));
        Assert.Equal(bin, call.GetTrailers().GetBytes("x-trailer-bin"));
    }

    [Theory]
    [InlineData("plain ascii")]
    [InlineData("100% done")]
    [InlineData("ünïcødé ✓ 💓 heart rate")]
    [InlineData("line1\nline2\ttab %41")]
    public async Task Status_DetailIsPercentEncodedRoundTrip(string detail)
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("fail:InvalidArgument:" + detail)).Timed());
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal(detail, ex.Detail);
        Assert.Equal("1", ex.Trailers.GetValue("x-fail"));
        Assert.Equal(new byte[] { 9, 8, 7 }, ex.Trailers.GetBytes("x-fail-bin"));
    }

    [Fact]
    public async Task Status_SetOnContext_IsSentWithoutMessage()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("status")).Timed());
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("set via context", ex.Detail);
        Assert.Equal("status", ex.Trailers.GetValue("x-why"));
    }

    [Fact]
    public async Task ExceptionMapper_MapsDomainException_AndHidesUnknownDetails()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var domain = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("domain:epoch fenced")).Timed());
        Assert.Equal(StatusCode.FailedPrecondition, domain.StatusCode);
        Assert.Equal("epoch fenced", domain.Detail);

        var boom = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("boom")).Timed());
        Assert.Equal(StatusCode.Unknown, boom.StatusCode);
        Assert.DoesNotContain("secret", boom.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExceptionMapper_DetailedErrors_IncludesMessage()
    {
        await using var server = await TestServer.StartAsync(o => o.EnableDetailedErrors = true);
        using var channel = server.CreateChannel();
        var boom = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("boom")).Timed());
        Assert.Equal(StatusCode.Unknown, boom.StatusCode);
        Assert.Contains("secret internal detail", boom.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deadline_CancelsHandler_AndClientGetsDeadlineExceeded()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        // Connection and JIT warm first, and a deadline long enough for the call to reach the handler on a loaded
        // machine: a deadline that expires before the handler starts leaves nothing to cancel (a 300 ms one did, once, in a full parallel run).
        await channel.UnaryAsync(Unary, Req("warm")).Timed();
        var deadline = DateTime.UtcNow.AddSeconds(1);
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("sleep"), new CallOptions(Deadline: deadline)).Timed());
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(await server.State.HandlerCancelled.Task.Timed());
        var observed = await server.State.ObservedDeadline.Task.Timed();
        Assert.InRange(observed, deadline.AddSeconds(-1), deadline.AddSeconds(1));
    }

    [Fact]
    public async Task Deadline_AlreadyPassed_FailsWithoutCallingServer()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("hi"), new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(-1))).Timed());
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.False(server.State.HandlerStarted.Task.IsCompleted);
    }

    [Fact]
    public async Task Deadline_ExpiringAroundTheFirstWrite_IsAlwaysDeadlineExceeded()
    {
        // The interop case timeout_on_sleeping_server: a 1 ms deadline races the first write. Whichever wins, the
        // write must report DEADLINE_EXCEEDED, never that the request stream was closed.
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        for (var i = 0; i < 50; i++)
        {
            using var call = channel.DuplexStreaming(Duplex, new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(i % 3)));
            var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                await call.RequestStream.WriteAsync(Req("sleep", 27_182)).Timed();
                await using var reader = call.ResponseStream.GetAsyncEnumerator();
                await reader.MoveNextAsync().AsTask().Timed();
            });
            Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        }
    }

    [Fact]
    public async Task ClientCancel_ReachesHandlerToken()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        using var cts = new CancellationTokenSource();
        using var call = channel.ServerStreaming(ServerStream, Req("sleep"), new CallOptions(CancellationToken: cts.Token));
        await using var reader = call.ResponseStream.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync().AsTask().Timed());
        await server.State.HandlerStarted.Task.Timed();
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => reader.MoveNextAsync().AsTask().Timed());
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        Assert.True(await server.State.HandlerCancelled.Task.Timed());
    }

    [Fact]
    public async Task DuplexDispose_ResetsStream_HandlerSeesCancellation()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var call = channel.DuplexStreaming(Duplex);
        await call.ResponseHeadersAsync.Timed();
        await call.RequestStream.WriteAsync(Req("sleep")).Timed();
        await server.State.HandlerStarted.Task.Timed();
        call.Dispose();
        Assert.True(await server.State.HandlerCancelled.Task.Timed());
    }

    [Fact]
    public async Task Gzip_RequestAndResponse()
    {
        await using var server = await TestServer.StartAsync(o => o.ResponseCompression = "gzip");
        using var channel = server.CreateChannel(new RpcChannelOptions { Compression = "gzip" });
        var payload = Enumerable.Range(0, 100_000).Select(i => (byte)(i % 7)).ToArray();
        using var call = channel.Unary(Unary, new EchoRequest { Text = "gz", Payload = ByteString.CopyFrom(payload) });
        var response = await call.ResponseAsync.Timed();
        Assert.Equal(payload, response.Payload.ToByteArray());

        using var stream = channel.ServerStream(payload);
        Assert.Equal(3, (await stream.ResponseStream.ToListTimedAsync()).Count);
    }

    [Fact]
    public async Task Gzip_PerCallCompressionAndHandlerChoice()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var response = await channel.UnaryAsync(Unary, Req("compression", 5000), new CallOptions(Compression: "gzip")).Timed();
        Assert.Equal(5000, response.Payload.Length);
    }

    [Fact]
    public async Task MaxReceive_OnServer_ResourceExhausted()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxReceiveMessageSize = 1000);
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("big", 2000)).Timed());
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task MaxReceive_OnClient_ResourceExhausted()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel(new RpcChannelOptions { MaxReceiveMessageSize = 1000 });
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("big:5000")).Timed());
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task MaxSend_OnServerAndClient_ResourceExhausted()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxSendMessageSize = 1000);
        using var channel = server.CreateChannel(new RpcChannelOptions { MaxSendMessageSize = 1000 });
        var serverSide = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("big:5000")).Timed());
        Assert.Equal(StatusCode.ResourceExhausted, serverSide.StatusCode);
        var clientSide = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("x", 5000)).Timed());
        Assert.Equal(StatusCode.ResourceExhausted, clientSide.StatusCode);
    }

    [Fact]
    public async Task Unimplemented_UnknownServiceAndMethod()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var unknownService = new RpcMethod<EchoRequest, EchoResponse>("nope.Missing", "Unary", MethodType.Unary);
        var unknownMethod = new RpcMethod<EchoRequest, EchoResponse>("healthgrpc.rpctest.EchoService", "Missing", MethodType.Unary);
        var ex1 = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(unknownService, Req("x")).Timed());
        Assert.Equal(StatusCode.Unimplemented, ex1.StatusCode);
        var ex2 = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(unknownMethod, Req("x")).Timed());
        Assert.Equal(StatusCode.Unimplemented, ex2.StatusCode);
        Assert.Contains("Method", ex2.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unavailable_WhenNothingListens()
    {
        using var channel = RpcChannel.Create(new Uri("http://127.0.0.1:1"));
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Unary, Req("x")).Timed());
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }
}

internal static class ChannelTestExtensions
{
    public static ServerStreamingCall<EchoResponse> ServerStream(this RpcChannel channel, byte[] payload) =>
        channel.ServerStreaming(EchoMethods.ServerStream, new EchoRequest { Text = "gz", Count = 3, Payload = ByteString.CopyFrom(payload) });
}
