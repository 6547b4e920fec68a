using HealthGrpc.Server.ChangeFeed;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Services;

/// <summary>
/// healthgrpc.v1.SharingService. A thin transport: each RPC lives in its own file (SharingService.*.cs) and maps wire
/// messages to the grant store (<see cref="Sharing.GrantTerms"/>, <see cref="Sharing.GrantIssuer"/>); refusals become
/// statuses in <see cref="StatusMapper"/>. User tokens only: the default policy refuses share codes.
/// </summary>
[Authorize]
internal sealed partial class SharingService(IGrantStore grants, ChangeFeedHub hub, TimeProvider clock)
    : Contracts.V1.SharingService.SharingServiceBase;
