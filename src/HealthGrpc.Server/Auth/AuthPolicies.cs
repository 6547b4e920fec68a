using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Auth;

/// <summary>
/// Who may call what. The default policy ([Authorize] without a name) admits user tokens only, so a share code (a
/// read-only credential) is refused PERMISSION_DENIED by every service that does not opt in: writing, sharing and any
/// service added later. The read services opt in with <see cref="Reader"/>.
/// </summary>
internal static class AuthPolicies
{
    /// <summary>A user token or a share code: ChangeFeedService and QueryService.</summary>
    public const string Reader = "reader";

    public static void Configure(AuthorizationOptions options)
    {
        options.DefaultPolicy = new AuthorizationPolicyBuilder(BearerTokenAuthenticationHandler.SchemeName)
            .RequireClaim(ClaimTypes.NameIdentifier)
            .Build();
        options.AddPolicy(Reader, policy => policy
            .AddAuthenticationSchemes(BearerTokenAuthenticationHandler.SchemeName)
            .RequireAssertion(context => context.User.HasClaim(claim => claim.Type is ClaimTypes.NameIdentifier or UserClaims.ShareGrantClaim)));
    }
}
