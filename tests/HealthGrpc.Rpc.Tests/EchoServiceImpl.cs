using System.Globalization;
using Google.Protobuf;
using HealthGrpc.Rpc.Tests.Echo;

namespace HealthGrpc.Rpc.Tests;

/// <summary>
/// Test service. Commands in request.text: "fail:CODE:detail" throws RpcException; "domain:detail" throws a domain
/// exception (mapped); "boom" throws InvalidOperationException; "sleep" waits for cancellation; "headers" echoes
/// metadata; "big:N" answers with an N-byte payload; "protocol" answers the HTTP protocol and scheme.
/// </summary>
internal sealed class EchoServiceImpl(TestState state)
{
    public async Task<EchoResponse> Unary(EchoRequest request, ServerCallContext context)
    {
        await Task.Yield();
        return await HandleAsync(request, context);
    }

    public async Task<EchoResponse> ClientStream(IAsyncEnumerable<EchoRequest> requests, ServerCallContext context)
    {
        var count = 0;
        long bytes = 0;
        string? last = null;
        state.HandlerStarted.TrySetResult();
        await foreach (var r in requests.WithCancellation(context.CancellationToken))
        {
            count++;
            bytes += r.Payload.Length;
            last = r.Text;
            if (r.Text == "fail-early")
            {
                throw new RpcException(StatusCode.Aborted, "stopped early");
            }
        }

        return new EchoResponse { Count = count, TotalBytes = bytes, Text = last ?? string.Empty };
    }

    public async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
    {
        if (request.Text == "sleep")
        {
            await responses.WriteAsync(new EchoResponse { Text = "started" });
            await SleepUntilCancelledAsync(context);
            return;
        }

        if (request.Text == "buffered")
        {
            context.WriteOptions = new WriteOptions(BufferHint: true);
        }

        for (var i = 0; i < request.Count; i++)
        {
            await responses.WriteAsync(new EchoResponse { Count = i, Payload = request.Payload });
            if (request.DelayMs > 0)
            {
                await Task.Delay(request.DelayMs, context.CancellationToken);
            }
        }

        if (request.Text.StartsWith("fail:", StringComparison.Ordinal))
        {
            context.ResponseTrailers.Add("x-after", "stream");
            throw Fail(request.Text);
        }

        context.ResponseTrailers.Add("x-sent", request.Count.ToString(CultureInfo.InvariantCulture));
    }

    public async Task Duplex(IAsyncEnumerable<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
    {
        var headers = new Metadata { { "x-duplex", "yes" } };
        await context.WriteResponseHeadersAsync(headers);
        if (context.RequestHeaders.GetValue("x-peek") is not null)
        {
            await PeekingDuplexAsync(requests, responses, context);
            return;
        }

        await foreach (var r in requests)
        {
            if (r.Text == "sleep")
            {
                await SleepUntilCancelledAsync(context);
            }

            await responses.WriteAsync(new EchoResponse { Text = r.Text, Payload = r.Payload, Count = r.Count });
        }
    }

    /// <summary>Answers each message with the size the peek saw before the message was read (in total_bytes).</summary>
    private static async Task PeekingDuplexAsync(IAsyncEnumerable<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
    {
        await using var incoming = requests.GetAsyncEnumerator(context.CancellationToken);
        while (await context.PeekRequestMessageSizeAsync(context.CancellationToken) is { } size)
        {
            if (!await incoming.MoveNextAsync())
            {
                throw new RpcException(StatusCode.Internal, $"the peek saw a message of {size} bytes that the read did not");
            }

            await responses.WriteAsync(new EchoResponse { Text = incoming.Current.Text, TotalBytes = size });
        }

        if (await incoming.MoveNextAsync())
        {
            throw new RpcException(StatusCode.Internal, "the peek saw the end of the stream, but a message followed");
        }
    }

    private async Task<EchoResponse> HandleAsync(EchoRequest request, ServerCallContext context)
    {
        var text = request.Text;
        if (text.StartsWith("fail:", StringComparison.Ordinal))
        {
            throw Fail(text);
        }

        if (text.StartsWith("domain:", StringComparison.Ordinal))
        {
            throw new DomainRuleException(text["domain:".Length..]);
        }

        if (text == "boom")
        {
            throw new InvalidOperationException("secret internal detail");
        }

        if (text == "sleep")
        {
            state.ObservedDeadline.TrySetResult(context.Deadline);
            await SleepUntilCancelledAsync(context);
        }

        if (text == "status")
        {
            context.Status = new RpcStatus(StatusCode.NotFound, "set via context");
            context.ResponseTrailers.Add("x-why", "status");
            return new EchoResponse();
        }

        if (text == "headers")
        {
            await context.WriteResponseHeadersAsync(new Metadata { { "x-header", "h1" }, { "x-header-bin", new byte[] { 0, 1, 2, 255 } } });
            var response = new EchoResponse { Text = context.RequestHeaders.GetValue("x-text") ?? "<none>" };
            var bin = context.RequestHeaders.GetBytes("x-bin");
            if (bin is not null)
            {
                response.Payload = ByteString.CopyFrom(bin);
                context.ResponseTrailers.Add("x-trailer-bin", bin);
            }

            context.ResponseTrailers.Add("x-trailer", "t1");
            return response;
        }

        if (text.StartsWith("big:", StringComparison.Ordinal))
        {
            return new EchoResponse { Payload = ByteString.CopyFrom(new byte[int.Parse(text[4..], CultureInfo.InvariantCulture)]) };
        }

        if (text == "protocol")
        {
            return new EchoResponse { Text = context.HttpContext.Request.Protocol + " " + context.HttpContext.Request.Scheme + " " + context.Peer };
        }

        if (text == "compression")
        {
            context.ResponseCompression = "gzip";
        }

        return new EchoResponse { Text = text, Payload = request.Payload, Count = request.Count };
    }

    private async Task SleepUntilCancelledAsync(ServerCallContext context)
    {
        state.HandlerStarted.TrySetResult();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(60), context.CancellationToken);
            state.HandlerCancelled.TrySetResult(false);
        }
        catch (OperationCanceledException)
        {
            state.HandlerCancelled.TrySetResult(true);
            throw;
        }
    }

    private static RpcException Fail(string text)
    {
        var parts = text.Split(':', 3);
        var trailers = new Metadata { { "x-fail", "1" }, { "x-fail-bin", new byte[] { 9, 8, 7 } } };
        return new RpcException(Enum.Parse<StatusCode>(parts[1]), parts.Length > 2 ? parts[2] : string.Empty, trailers);
    }
}
