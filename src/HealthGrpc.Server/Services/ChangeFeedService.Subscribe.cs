using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.ChangeFeed;

namespace HealthGrpc.Server.Services;

internal sealed partial class ChangeFeedService
{
    /// <summary>The backlog after since_token, caught_up, then live changes until the client goes away, the server stops or a grant read through ends.</summary>
    public override async Task Subscribe(SubscribeRequest request, IServerStreamWriter<SubscribeResponse> responseStream, ServerCallContext context)
    {
        var (access, filter) = await OpenFeedAsync(context, request.OwnerUserId, request.Filter);
        var start = await FeedStart.ResolveAsync(store, access.OwnerUserId, request.SinceToken, context.CancellationToken);
        await access.RecordAsync("ChangeFeedService.Subscribe", filter.Types, null, null, context.CancellationToken);
        // A subscription never ends by itself: a graceful stop ends it, or the host would wait for it until its shutdown timeout.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await subscriptions.RunAsync(start, filter, access, responseStream.WriteAsync, ended.Token);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "server is shutting down; Subscribe again (with backoff) from the last token received."));
        }
    }
}
