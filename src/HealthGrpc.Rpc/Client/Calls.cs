using System.Runtime.CompilerServices;
using Google.Protobuf;
using HealthGrpc.Rpc.Client;

namespace HealthGrpc.Rpc;

/// <summary>What every client call offers: response headers, the final status and trailers, and cancellation.</summary>
public abstract class RpcCall : IDisposable
{
    private readonly IDisposable _call;
    private readonly Func<RpcStatus> _status;
    private readonly Func<Metadata> _trailers;

    private protected RpcCall(IDisposable call, Task<Metadata> headers, Func<RpcStatus> status, Func<Metadata> trailers)
    {
        _call = call;
        ResponseHeadersAsync = headers;
        _status = status;
        _trailers = trailers;
    }

    public Task<Metadata> ResponseHeadersAsync { get; }

    /// <summary>The final status (throws InvalidOperationException before the call completed).</summary>
    public RpcStatus GetStatus() => _status();

    /// <summary>The response trailers (throws InvalidOperationException before the call completed).</summary>
    public Metadata GetTrailers() => _trailers();

    /// <summary>Cancels the call if still running (RST_STREAM) and releases it.</summary>
    public void Dispose()
    {
        _call.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A unary call in flight. Await it (or <see cref="ResponseAsync"/>) for the response; non-OK throws <see cref="RpcException"/>.</summary>
public sealed class AsyncUnaryCall<TResponse> : RpcCall
{
    internal AsyncUnaryCall(IDisposable call, Task<TResponse> response, Task<Metadata> headers, Func<RpcStatus> status, Func<Metadata> trailers)
        : base(call, headers, status, trailers) => ResponseAsync = response;

    public Task<TResponse> ResponseAsync { get; }

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();
}

/// <summary>A client-streaming call: write requests, complete, then await the single response.</summary>
public sealed class ClientStreamingCall<TRequest, TResponse> : RpcCall
{
    internal ClientStreamingCall(IDisposable call, IClientStreamWriter<TRequest> requestStream, Task<TResponse> response, Task<Metadata> headers, Func<RpcStatus> status, Func<Metadata> trailers)
        : base(call, headers, status, trailers)
    {
        RequestStream = requestStream;
        ResponseAsync = response;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public Task<TResponse> ResponseAsync { get; }

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();
}

/// <summary>A server-streaming call: enumerate <see cref="ResponseStream"/>; a non-OK status throws at the end.</summary>
public sealed class ServerStreamingCall<TResponse> : RpcCall
{
    internal ServerStreamingCall(IDisposable call, IAsyncEnumerable<TResponse> responseStream, Task<Metadata> headers, Func<RpcStatus> status, Func<Metadata> trailers)
        : base(call, headers, status, trailers) => ResponseStream = responseStream;

    /// <summary>The response messages (enumerate once).</summary>
    public IAsyncEnumerable<TResponse> ResponseStream { get; }
}

/// <summary>A bidirectional-streaming call. Dispose cancels it (RST_STREAM) if still running.</summary>
public sealed class DuplexStreamingCall<TRequest, TResponse> : RpcCall
{
    internal DuplexStreamingCall(IDisposable call, IClientStreamWriter<TRequest> requestStream, IAsyncEnumerable<TResponse> responseStream, Task<Metadata> headers, Func<RpcStatus> status, Func<Metadata> trailers)
        : base(call, headers, status, trailers)
    {
        RequestStream = requestStream;
        ResponseStream = responseStream;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    /// <summary>The response messages (enumerate once).</summary>
    public IAsyncEnumerable<TResponse> ResponseStream { get; }
}

internal sealed class ClientStreamWriter<TRequest, TResponse>(ClientCall<TRequest, TResponse> call) : IClientStreamWriter<TRequest>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public WriteOptions WriteOptions { get; set; } = WriteOptions.Default;

    public Task WriteAsync(TRequest message, CancellationToken cancellationToken = default) =>
        call.WriteAsync(message, WriteOptions.NoCompress, cancellationToken);

    public Task CompleteAsync() => call.CompleteRequestAsync();
}

internal sealed class ResponseStream<TRequest, TResponse>(ClientCall<TRequest, TResponse> call) : IAsyncEnumerable<TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private int _enumerated;

    public IAsyncEnumerator<TResponse> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) == 1)
        {
            throw new InvalidOperationException("The response stream can only be enumerated once.");
        }

        return call.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }
}
