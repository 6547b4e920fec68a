using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Insights;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Services;

/// <summary>
/// healthgrpc.v1.InsightService, mapped only when the store keeps insights (<see cref="IInsightStore"/>; elsewhere the
/// service is UNIMPLEMENTED). A thin transport: each RPC lives in its own file (InsightService.*.cs). ListInsights reads
/// through <see cref="ReadAccessResolver"/> (users and share codes, <see cref="AuthPolicies.Reader"/>); acknowledging and
/// setting the zone change the caller's own insights, so they take user tokens only (the default policy).
/// </summary>
[Authorize(Policy = AuthPolicies.Reader)]
internal sealed partial class InsightService(IInsightStore insights, ReadAccessResolver readers, InsightRecomputer recomputer, TimeProvider clock)
    : Contracts.V1.InsightService.InsightServiceBase;
