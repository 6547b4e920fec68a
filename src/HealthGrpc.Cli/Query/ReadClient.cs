using Grpc.Core;
using Grpc.Net.Client;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Query;

/// <summary>The read RPCs of one server with one bearer token, and the one way their refusals are told to people.</summary>
internal sealed class ReadClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public ReadClient(ReadScope scope)
    {
        _channel = GrpcChannel.ForAddress(scope.Server, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) },
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        Auth = new Metadata { { "authorization", "Bearer " + scope.Token } };
        Query = new QueryService.QueryServiceClient(_channel);
        Changes = new ChangeFeedService.ChangeFeedServiceClient(_channel);
    }

    public Metadata Auth { get; }

    public QueryService.QueryServiceClient Query { get; }

    public ChangeFeedService.ChangeFeedServiceClient Changes { get; }

    /// <summary>The server's status and message (it names the field it refused), exit code 1.</summary>
    public static int Fail(RpcException refused) => refused.StatusCode switch
    {
        StatusCode.Unavailable => Terminal.Fail($"the server did not answer ({refused.Status.Detail}); is `healthgrpc serve` running at --server?"),
        StatusCode.Unauthenticated => Terminal.Fail($"the server refused the token ({refused.Status.Detail}): check --token / $HEALTHGRPC_TOKEN."),
        _ => Terminal.Fail($"the server answered {refused.StatusCode}: {refused.Status.Detail}"),
    };

    public void Dispose() => _channel.Dispose();
}
