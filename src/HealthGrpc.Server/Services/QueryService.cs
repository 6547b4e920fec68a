using HealthGrpc.Storage;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Services;

/// <summary>
/// healthgrpc.v1.QueryService. A thin transport: each RPC lives in its own file (QueryService.*.cs), validates the
/// request into a domain query (HealthGrpc.Server.Query), runs it on the store and maps the result back; refusals become
/// statuses in <see cref="StatusMapper"/> (through <see cref="ErrorMappingInterceptor"/>).
/// </summary>
[Authorize]
internal sealed partial class QueryService(IHealthStore store) : Contracts.V1.QueryService.QueryServiceBase;
