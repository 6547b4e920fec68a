using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.ChangeFeed;

namespace HealthGrpc.Server.Services;

internal sealed partial class ChangeFeedService
{
    /// <summary>One page of the caller's changes after since_token.</summary>
    public override async Task<ChangesResponse> Changes(ChangesRequest request, ServerCallContext context)
    {
        var filter = FeedFilter.From(request.Filter);
        var start = await FeedStart.ResolveAsync(store, context.UserId(), request.OwnerUserId, request.SinceToken, context.CancellationToken);
        return await pager.ReadAsync(start, pager.PageSize(request.PageSize), filter, context.CancellationToken);
    }
}
