using HealthGrpc.Rpc;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

/// <summary>
/// healthgrpc.v1.SyncService. A thin transport: each RPC lives in its own file (SyncService.*.cs) and maps wire
/// messages to <see cref="IngestPipeline"/> calls; refusals become statuses in <see cref="StatusMapper"/>.
/// </summary>
internal sealed partial class SyncService(
    IngestPipeline pipeline,
    IHealthStore store,
    TokenAuthenticator authenticator,
    IHostApplicationLifetime lifetime)
{
    private async Task<string> AuthenticateAsync(ServerCallContext context) =>
        await authenticator.AuthenticateAsync(context.RequestHeaders.GetValue("authorization"), context.CancellationToken)
        ?? throw StatusMapper.Unauthenticated();
}
