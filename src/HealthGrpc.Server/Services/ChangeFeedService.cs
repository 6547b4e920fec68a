using HealthGrpc.Server.ChangeFeed;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Services;

/// <summary>
/// healthgrpc.v1.ChangeFeedService. A thin transport: each RPC lives in its own file (ChangeFeedService.*.cs) and maps
/// wire messages to the change-feed domain (<see cref="FeedStart"/>, <see cref="ChangePager"/>,
/// <see cref="ChangeSubscriptions"/>); refusals become statuses in <see cref="StatusMapper"/>.
/// </summary>
[Authorize]
internal sealed partial class ChangeFeedService(
    IHealthStore store,
    ChangePager pager,
    ChangeSubscriptions subscriptions,
    IHostApplicationLifetime lifetime)
    : Contracts.V1.ChangeFeedService.ChangeFeedServiceBase;
