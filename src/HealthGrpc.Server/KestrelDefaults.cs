using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace HealthGrpc.Server;

/// <summary>Kestrel settings for long-lived gRPC streams of device batches.</summary>
internal static class KestrelDefaults
{
    /// <summary>
    /// HTTP/2 only on plain endpoints (h2c with prior knowledge, as gRPC clients connect; TLS endpoints negotiate h2 by
    /// ALPN), 256 streams per connection, connection/stream windows of 2 MiB / 1 MiB (a batch in flight per stream
    /// without stalls), a keepalive ping every 60 s so dead peers free their streams, no body size limit or minimum
    /// data rate (streams are open for hours and mostly quiet; message size is limited by gRPC instead).
    /// </summary>
    public static void Apply(KestrelServerOptions options)
    {
        var h2 = options.Limits.Http2;
        h2.MaxStreamsPerConnection = 256;
        h2.InitialConnectionWindowSize = 2 * 1024 * 1024;
        h2.InitialStreamWindowSize = 1024 * 1024;
        h2.KeepAlivePingDelay = TimeSpan.FromSeconds(60);
        h2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        options.Limits.MaxRequestBodySize = null;
        options.Limits.MinRequestBodyDataRate = null;
        options.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);
    }
}
