using System.Security.Claims;
using Grpc.Core;
using HealthGrpc.Server.Sharing;

namespace HealthGrpc.Server.Auth;

/// <summary>The authenticated caller of a call, as the <see cref="BearerTokenAuthenticationHandler"/> put it there.</summary>
internal static class UserClaims
{
    /// <summary>The claim of a share code's holder: the grant id (such a caller has no user id).</summary>
    public const string ShareGrantClaim = "healthgrpc:share_grant";

    /// <summary>
    /// The caller's user id. Services that take only user tokens are [Authorize]d with the default policy (a user id is
    /// required, see <see cref="AuthPolicies"/>), so a call without one never reaches a handler.
    /// </summary>
    public static string UserId(this ServerCallContext context) =>
        context.GetHttpContext().User.FindFirstValue(ClaimTypes.NameIdentifier)
        ?? throw new InvalidOperationException("The call reached a user-only service without a user: is the service [Authorize]d with the default policy?");

    /// <summary>The caller of a read service (<see cref="AuthPolicies.Reader"/>): a user or a share code's holder.</summary>
    public static Reader Reader(this ServerCallContext context)
    {
        var user = context.GetHttpContext().User;
        return user.FindFirstValue(ClaimTypes.NameIdentifier) is { } userId ? Sharing.Reader.User(userId)
            : user.FindFirstValue(ShareGrantClaim) is { } grantId ? Sharing.Reader.ShareCode(grantId)
            : throw new InvalidOperationException("The call reached a read service without a caller: is the service [Authorize]d?");
    }
}
