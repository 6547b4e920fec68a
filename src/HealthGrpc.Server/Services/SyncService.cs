using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Services;

/// <summary>
/// healthgrpc.v1.SyncService. A thin transport: each RPC lives in its own file (SyncService.*.cs) and maps wire
/// messages to <see cref="IngestPipeline"/> calls; refusals become statuses in <see cref="StatusMapper"/> (through
/// <see cref="ErrorMappingInterceptor"/>); the caller is authenticated by the Bearer scheme before a handler runs.
/// </summary>
[Authorize]
internal sealed partial class SyncService(
    IngestPipeline pipeline,
    IHealthStore store,
    IHostApplicationLifetime lifetime,
    TokenAuthenticator authenticator)
    : Contracts.V1.SyncService.SyncServiceBase;
