using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>The gRPC channel: its creation and replacement, transport security, the bearer header and the error details.</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>Replaces the channel, so that the next call opens a new connection (a half-dead one may still look open).</summary>
    private void ResetChannel()
    {
        var old = _connection;
        _connection = Connection.Create(_options);
        old.Dispose();
    }

    private static Metadata AuthHeaders(string token) => new() { { "authorization", "Bearer " + token } };

    /// <summary>
    /// The server's <see cref="ErrorDetail"/>, from the standard <c>grpc-status-details-bin</c> trailer: a
    /// <c>google.rpc.Status</c> whose <c>details</c> hold it packed as <c>google.protobuf.Any</c>. Null when absent or unreadable.
    /// </summary>
    internal static ErrorDetail? ReadErrorDetail(RpcException error)
    {
        try
        {
            return error.GetRpcStatus()?.GetDetail<ErrorDetail>();
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>Refuses an <c>http://</c> address to a non-loopback host unless <see cref="HealthSyncOptions.AllowInsecureChannel"/>.</summary>
    private static void CheckTransportSecurity(HealthSyncOptions options)
    {
        var address = options.ServerAddress;
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"ServerAddress must be an absolute https:// (or http://) address, not '{address}'.", nameof(options));
        }

        if (address.Scheme == Uri.UriSchemeHttp && !address.IsLoopback && !options.AllowInsecureChannel)
        {
            throw new ArgumentException(
                $"ServerAddress '{address}' is http:// (no TLS) to a non-loopback host: the bearer token would travel in clear. " +
                $"Use https://, or set {nameof(HealthSyncOptions)}.{nameof(HealthSyncOptions.AllowInsecureChannel)} = true to allow it explicitly.",
                nameof(options));
        }
    }

    /// <summary>A channel and the generated client on it; replaced as a whole by <see cref="ResetChannel"/>.</summary>
    private sealed class Connection(GrpcChannel channel) : IDisposable
    {
        public SyncService.SyncServiceClient Client { get; } = new(channel);

        public QueryService.QueryServiceClient Query { get; } = new(channel);

        public static Connection Create(HealthSyncOptions options)
        {
            var channelOptions = new GrpcChannelOptions();
            options.ConfigureChannel?.Invoke(channelOptions);
            // The engine tells a stop (OperationCanceledException) from a failed call (RpcException).
            channelOptions.ThrowOperationCanceledOnCancellation = true;
            if (channelOptions.HttpHandler is null && channelOptions.HttpClient is null)
            {
                channelOptions.HttpHandler = new SocketsHttpHandler
                {
                    KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                    KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
                    KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                    ConnectTimeout = TimeSpan.FromSeconds(30),
                    EnableMultipleHttp2Connections = true,
                };
                channelOptions.DisposeHttpClient = true;
            }

            ProxyRoute.Apply(options, channelOptions);
            return new Connection(GrpcChannel.ForAddress(options.ServerAddress, channelOptions));
        }

        public void Dispose() => channel.Dispose();
    }
}
