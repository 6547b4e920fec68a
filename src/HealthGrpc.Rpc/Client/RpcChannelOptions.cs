namespace HealthGrpc.Rpc;

/// <summary>Client channel settings.</summary>
public sealed class RpcChannelOptions
{
    /// <summary>Largest accepted response message (after decompression). Default 4 MiB. Null = unlimited.</summary>
    public int? MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest request message. Default null = unlimited.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Request compression for every call: "gzip" or null (identity). A call's <see cref="CallOptions.Compression"/> overrides it.</summary>
    public string? Compression { get; set; }

    /// <summary>
    /// Replaces the default <see cref="System.Net.Http.SocketsHttpHandler"/> (e.g. for custom certificate validation).
    /// It must speak HTTP/2. The keepalive settings below then do not apply.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>Dispose <see cref="HttpHandler"/> with the channel. Default true.</summary>
    public bool DisposeHttpHandler { get; set; } = true;

    /// <summary>HTTP/2 PING interval on an idle connection. Default 60 s; <see cref="Timeout.InfiniteTimeSpan"/> disables it.</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait for a PING ack before closing the connection. Default 20 s.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Send keepalive pings also when no call is active. Default false (only with active calls).</summary>
    public bool KeepAlivePingWithoutCalls { get; set; }

    /// <summary>Idle pooled connections are closed after this. Default 5 minutes.</summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Connect timeout. Default 30 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Per-call options.</summary>
/// <param name="Headers">Request metadata.</param>
/// <param name="Deadline">Absolute UTC deadline: sent as grpc-timeout and enforced locally (DEADLINE_EXCEEDED).</param>
/// <param name="CancellationToken">Cancels the call (CANCELLED; the stream is reset).</param>
/// <param name="Compression">"gzip" or "identity" for this call's request messages (overrides the channel).</param>
#pragma warning disable CA1068 // Member order is the published API shape (Headers, Deadline, CancellationToken, Compression).
public sealed record CallOptions(Metadata? Headers = null, DateTime? Deadline = null, CancellationToken CancellationToken = default, string? Compression = null);
#pragma warning restore CA1068

/// <summary>Writes request messages of a client-streaming or duplex call.</summary>
public interface IClientStreamWriter<in T>
{
    /// <summary>Queues one message; waits while HTTP/2 flow control applies back-pressure. One write at a time.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Options for the following writes. <see cref="WriteOptions.NoCompress"/> sends a message uncompressed on a call
    /// whose requests are gzip-compressed (per-message compression, as the gRPC spec allows).
    /// </summary>
    WriteOptions WriteOptions { get; set; }

    /// <summary>Ends the request stream (END_STREAM).</summary>
    Task CompleteAsync();
}
