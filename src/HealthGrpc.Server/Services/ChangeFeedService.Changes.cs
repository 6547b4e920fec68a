using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.ChangeFeed;

namespace HealthGrpc.Server.Services;

internal sealed partial class ChangeFeedService
{
    /// <summary>One page of the caller's changes (or, through grants, of the owner's shared changes) after since_token.</summary>
    public override async Task<ChangesResponse> Changes(ChangesRequest request, ServerCallContext context)
    {
        var (access, filter) = await OpenFeedAsync(context, request.OwnerUserId, request.Filter);
        var start = await FeedStart.ResolveAsync(store, access.OwnerUserId, request.SinceToken, context.CancellationToken);
        await access.RecordAsync("ChangeFeedService.Changes", filter.Types, null, null, context.CancellationToken);
        return await pager.ReadAsync(start, pager.PageSize(request.PageSize), filter, context.CancellationToken);
    }
}
