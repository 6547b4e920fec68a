using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.ChangeFeed;

namespace HealthGrpc.Server.Services;

internal sealed partial class ChangeFeedService
{
    /// <summary>The backlog after since_token, caught_up, then live changes until the client goes away.</summary>
    public override async Task Subscribe(SubscribeRequest request, IServerStreamWriter<SubscribeResponse> responseStream, ServerCallContext context)
    {
        var filter = FeedFilter.From(request.Filter);
        var start = await FeedStart.ResolveAsync(store, context.UserId(), request.OwnerUserId, request.SinceToken, context.CancellationToken);
        await subscriptions.RunAsync(start, filter, responseStream.WriteAsync, context.CancellationToken);
    }
}
