using System.Security.Claims;
using Grpc.Core;

namespace HealthGrpc.Server.Auth;

/// <summary>The authenticated user of a call, as the <see cref="BearerTokenAuthenticationHandler"/> put it there.</summary>
internal static class UserClaims
{
    /// <summary>The caller's user id. Services are [Authorize]d, so a call without one never reaches a handler.</summary>
    public static string UserId(this ServerCallContext context) =>
        context.GetHttpContext().User.FindFirstValue(ClaimTypes.NameIdentifier)
        ?? throw new InvalidOperationException("The call reached a service without an authenticated user: is the service [Authorize]d?");
}
