using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.ChangeFeed;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Services;

/// <summary>
/// healthgrpc.v1.ChangeFeedService. A thin transport: each RPC lives in its own file (ChangeFeedService.*.cs) and maps
/// wire messages to the change-feed domain (<see cref="ReadAccessResolver"/>, <see cref="FeedStart"/>,
/// <see cref="ChangePager"/>, <see cref="ChangeSubscriptions"/>); refusals become statuses in <see cref="StatusMapper"/>.
/// Users and share codes may call it (<see cref="AuthPolicies.Reader"/>).
/// </summary>
[Authorize(Policy = AuthPolicies.Reader)]
internal sealed partial class ChangeFeedService(
    IHealthStore store,
    ReadAccessResolver readers,
    ChangePager pager,
    ChangeSubscriptions subscriptions,
    IHostApplicationLifetime lifetime)
    : Contracts.V1.ChangeFeedService.ChangeFeedServiceBase
{
    /// <summary>Whose feed the call reads and its filter, restricted to the grants' scope when it reads through grants.</summary>
    private async Task<(ReadAccess Access, FeedFilter Filter)> OpenFeedAsync(ServerCallContext context, string ownerUserId, ChangeFilter? wireFilter)
    {
        var filter = FeedFilter.From(wireFilter);
        var access = await readers.ResolveAsync(context.Reader(), ownerUserId, context.CancellationToken);
        return (access, access.Scope is { } scope ? filter.Within(scope) : filter);
    }
}
