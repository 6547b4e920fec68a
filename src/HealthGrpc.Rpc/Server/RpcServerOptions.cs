namespace HealthGrpc.Rpc;

/// <summary>Server settings (configure with <c>services.AddRpc(o =&gt; ...)</c>).</summary>
public sealed class RpcServerOptions
{
    /// <summary>Largest accepted request message (after decompression). Default 4 MiB. Null = unlimited.</summary>
    public int? MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest response message. Default null = unlimited.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Default response compression ("gzip" or "identity"), used only when the client accepts it. Default identity.</summary>
    public string ResponseCompression { get; set; } = "identity";

    /// <summary>When true, unmapped exceptions send their type and message to the client (development only).</summary>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>
    /// The one place domain exceptions become statuses: return the <see cref="RpcException"/> to answer with (its
    /// status, detail and trailers), or null to fall back to UNKNOWN.
    /// Not called for <see cref="RpcException"/> (passed through) or for cancellation caused by deadline,
    /// client cancel or shutdown (DEADLINE_EXCEEDED / CANCELLED / UNAVAILABLE).
    /// </summary>
    public Func<Exception, RpcException?>? ExceptionMapper { get; set; }
}
