using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Services;

/// <summary>
/// healthgrpc.v1.QueryService. A thin transport: each RPC lives in its own file (QueryService.*.cs), validates the
/// request into a domain query (HealthGrpc.Server.Query), runs it on the store and maps the result back; refusals become
/// statuses in <see cref="StatusMapper"/> (through <see cref="ErrorMappingInterceptor"/>). Whose data it reads is decided
/// by <see cref="ReadAccessResolver"/> (own data, or another owner's through grants: <see cref="Query.GrantedReads"/>);
/// users and share codes may call it (<see cref="AuthPolicies.Reader"/>).
/// </summary>
[Authorize(Policy = AuthPolicies.Reader)]
internal sealed partial class QueryService(IHealthStore store, ReadAccessResolver readers) : Contracts.V1.QueryService.QueryServiceBase;
