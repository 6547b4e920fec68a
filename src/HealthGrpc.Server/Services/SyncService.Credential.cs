using Grpc.Core;
using HealthGrpc.Server.Auth;

namespace HealthGrpc.Server.Services;

internal sealed partial class SyncService
{
    /// <summary>
    /// A Sync stream lives for hours: its credential is checked again for every batch, so revoking the token (or
    /// disabling the user, or the token expiring) ends a stream opened before. Batches accepted earlier are still acked.
    /// </summary>
    private async Task EnsureCredentialStillValidAsync(ServerCallContext context)
    {
        var authorization = context.GetHttpContext().Request.Headers.Authorization.ToString();
        var authentication = await authenticator.AuthenticateAsync(authorization, context.CancellationToken);
        if (!authentication.Succeeded)
        {
            throw new CredentialRejectedException($"{authentication.Failure} The stream ends; batches acked before this are stored.");
        }
    }
}
