using Grpc.Net.Client;

namespace HealthGrpc.Client;

/// <summary>
/// Puts <see cref="HealthSyncOptions.Proxy"/> and <see cref="HealthSyncOptions.UseProxy"/> on the channel's handler, or
/// refuses a configuration where they could not apply: a proxy setting that is silently ignored sends health data on
/// a route the app did not choose (or fails behind a corporate proxy with no hint why).
/// </summary>
internal static class ProxyRoute
{
    /// <summary>
    /// grpc-dotnet's switch (a <see cref="SocketsHttpHandler.Properties"/> key) that keeps it from installing its own
    /// <see cref="SocketsHttpHandler.ConnectCallback"/> (client-side load balancing, subchannels). That callback opens the
    /// TCP connection itself, so a proxied request fails with "Unable to get subchannel from HttpRequestMessage".
    /// </summary>
    private const string GrpcLoadBalancingDisabled = "__GrpcLoadBalancingDisabled";

    /// <summary>
    /// Applies the proxy settings to the handler of <paramref name="channel"/> (the SDK's or the app's
    /// <see cref="SocketsHttpHandler"/>), and lets a proxy (the app's or the environment's) actually carry the calls.
    /// </summary>
    public static void Apply(HealthSyncOptions options, GrpcChannelOptions channel)
    {
        if (options.Proxy is not null || !options.UseProxy)
        {
            SetProxy(options, channel);
        }

        if (channel.HttpClient is null && channel.HttpHandler is SocketsHttpHandler handler && IsProxied(handler, options.ServerAddress))
        {
            handler.Properties[GrpcLoadBalancingDisabled] = true;
        }
    }

    private static void SetProxy(HealthSyncOptions options, GrpcChannelOptions channel)
    {
        if (channel.HttpClient is not null || channel.HttpHandler is not SocketsHttpHandler handler)
        {
            throw new ArgumentException(
                $"{nameof(HealthSyncOptions)}.{nameof(HealthSyncOptions.Proxy)}/{nameof(HealthSyncOptions.UseProxy)} can only be applied to a SocketsHttpHandler, " +
                $"but {nameof(HealthSyncOptions.ConfigureChannel)} set {(channel.HttpClient is not null ? "an HttpClient" : "a " + channel.HttpHandler!.GetType().Name)}: " +
                "set the proxy on that handler instead.",
                nameof(options));
        }

        if (!options.UseProxy)
        {
            handler.UseProxy = false;
            return;
        }

        if (handler.Proxy is not null && !ReferenceEquals(handler.Proxy, options.Proxy))
        {
            throw new ArgumentException(
                $"{nameof(HealthSyncOptions)}.{nameof(HealthSyncOptions.Proxy)} is set and the SocketsHttpHandler of {nameof(HealthSyncOptions.ConfigureChannel)} " +
                "has another proxy: set it in one place.",
                nameof(options));
        }

        handler.UseProxy = true;
        handler.Proxy = options.Proxy;
    }

    /// <summary>Whether the handler sends requests for <paramref name="address"/> to a proxy (its own, or the environment's).</summary>
    private static bool IsProxied(SocketsHttpHandler handler, Uri address) =>
        handler.UseProxy && (handler.Proxy ?? HttpClient.DefaultProxy) is { } proxy && !proxy.IsBypassed(address);

    /// <summary>
    /// Refuses an <c>http://</c> address that <see cref="HealthSyncOptions.Proxy"/> would carry: .NET sends cleartext
    /// requests to a proxy as HTTP/1.1 forwards, never through a CONNECT tunnel, so HTTP/2 (gRPC) cannot get through and
    /// every call would fail with "unable to establish HTTP/2 connection".
    /// </summary>
    public static void CheckCleartext(HealthSyncOptions options)
    {
        if (options.UseProxy && options.Proxy is { } proxy && options.ServerAddress.Scheme == Uri.UriSchemeHttp && !proxy.IsBypassed(options.ServerAddress))
        {
            throw new ArgumentException(
                $"ServerAddress '{options.ServerAddress}' is http:// (h2c) and {nameof(HealthSyncOptions)}.{nameof(HealthSyncOptions.Proxy)} would carry it: " +
                "gRPC over an HTTP proxy needs https:// (a CONNECT tunnel). Use https://, or let the proxy bypass this host.",
                nameof(options));
        }
    }
}
