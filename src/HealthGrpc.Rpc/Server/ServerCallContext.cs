using Microsoft.AspNetCore.Http;

namespace HealthGrpc.Rpc;

/// <summary>Per-call server state handed to every service method.</summary>
public abstract class ServerCallContext
{
    /// <summary>The method path, e.g. <c>/pkg.Service/Method</c>.</summary>
    public abstract string Method { get; }

    /// <summary>Request metadata (custom headers; transport headers such as te/content-type/grpc-* are omitted).</summary>
    public abstract Metadata RequestHeaders { get; }

    /// <summary>Trailers sent with the final status. Add to it before the handler returns.</summary>
    public abstract Metadata ResponseTrailers { get; }

    /// <summary>Fires on deadline, client cancellation (RST_STREAM / connection loss) and server shutdown.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>The call deadline in UTC, or <see cref="DateTime.MaxValue"/> when the client sent none.</summary>
    public abstract DateTime Deadline { get; }

    /// <summary>The peer address, e.g. <c>ipv4:127.0.0.1:50312</c>.</summary>
    public abstract string Peer { get; }

    /// <summary>The ASP.NET Core request (authentication, connection info, features).</summary>
    public abstract HttpContext HttpContext { get; }

    /// <summary>
    /// The status sent when the handler returns normally (default OK). Setting a non-OK status on a unary or
    /// client-streaming call suppresses the response message.
    /// </summary>
    public abstract RpcStatus Status { get; set; }

    /// <summary>Buffering hints for subsequent response writes.</summary>
    public abstract WriteOptions WriteOptions { get; set; }

    /// <summary>
    /// Response compression: "gzip" or "identity". Defaults to <see cref="RpcServerOptions.ResponseCompression"/>
    /// when the client accepts it. Can only be changed before the response headers are sent.
    /// </summary>
    public abstract string ResponseCompression { get; set; }

    /// <summary>Sends the response headers now (at most once, before the first message).</summary>
    public abstract Task WriteResponseHeadersAsync(Metadata responseHeaders);

    /// <summary>
    /// For a streaming request: waits until the next request message has begun to arrive and returns its size on the wire
    /// (from its length prefix) without reading or parsing it; 0 when it is already parsed (small messages are parsed a
    /// few at a time); null when the client has completed its side. Lets a handler wait for memory before it takes a
    /// large message off the transport, so flow control pushes back meanwhile. Call it between reads of the request stream.
    /// </summary>
    public abstract ValueTask<int?> PeekRequestMessageSizeAsync(CancellationToken cancellationToken);
}

/// <summary>Write hints for streamed responses.</summary>
/// <param name="BufferHint">When true, a write is not flushed to the network immediately (it goes out with the next flush or at the end of the call).</param>
/// <param name="NoCompress">When true, messages are sent uncompressed (flag 0) even if the response uses gzip.</param>
public sealed record WriteOptions(bool BufferHint = false, bool NoCompress = false)
{
    public static WriteOptions Default { get; } = new();
}

/// <summary>Writes response messages of a server-streaming or duplex call.</summary>
public interface IServerStreamWriter<in T>
{
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
