using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace HealthGrpc.Rpc;

/// <summary>Kestrel settings suited to gRPC (HTTP/2 limits, windows, keepalive, unlimited streaming bodies).</summary>
public static class RpcKestrel
{
    /// <summary>
    /// MaxStreamsPerConnection 256, connection/stream windows 2 MiB / 1 MiB (streaming throughput), server keepalive
    /// ping every 60 s (20 s timeout), no request body size limit, no minimum request body data rate.
    /// </summary>
    public static KestrelServerOptions ConfigureDefaults(KestrelServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var h2 = options.Limits.Http2;
        h2.MaxStreamsPerConnection = 256;
        h2.InitialConnectionWindowSize = 2 * 1024 * 1024;
        h2.InitialStreamWindowSize = 1024 * 1024;
        h2.KeepAlivePingDelay = TimeSpan.FromSeconds(60);
        h2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        options.Limits.MaxRequestBodySize = null;
        options.Limits.MinRequestBodyDataRate = null;
        return options;
    }

    /// <summary>Extension form of <see cref="ConfigureDefaults"/>.</summary>
    public static KestrelServerOptions UseRpcDefaults(this KestrelServerOptions options) => ConfigureDefaults(options);

    /// <summary>Plain-text endpoint: HTTP/2 only (h2c with prior knowledge, as gRPC clients connect).</summary>
    public static ListenOptions UseRpcH2c(this ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Protocols = HttpProtocols.Http2;
        return listen;
    }

    /// <summary>TLS endpoint: HTTP/1.1 and HTTP/2 negotiated by ALPN (gRPC clients offer h2).</summary>
    public static ListenOptions UseRpcTls(this ListenOptions listen, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.UseHttps(certificate);
        return listen;
    }
}
