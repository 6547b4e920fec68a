using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace HealthGrpc.Server.Auth;

/// <summary>
/// The "Bearer" authentication scheme: <c>authorization: Bearer &lt;token&gt;</c> → a <see cref="ClaimsPrincipal"/>
/// whose <see cref="ClaimTypes.NameIdentifier"/> is the user id. Runs in the ASP.NET Core pipeline, so a call with
/// a missing or unknown token is answered before its request body is read. The challenge answers with a gRPC
/// status (UNAUTHENTICATED, trailers-only) instead of a bare HTTP 401, so every gRPC client reports the message.
/// </summary>
internal sealed class BearerTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenAuthenticator authenticator)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return AuthenticateResult.NoResult();
        }

        var authentication = await authenticator.AuthenticateAsync(header, Context.RequestAborted).ConfigureAwait(false);
        if (!authentication.Succeeded)
        {
            return AuthenticateResult.Fail(authentication.Failure!);
        }

        var claim = authentication.UserId is { } userId
            ? new Claim(ClaimTypes.NameIdentifier, userId)
            : new Claim(UserClaims.ShareGrantClaim, authentication.ShareGrantId!);
        var identity = new ClaimsIdentity([claim], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    /// <summary>Names why: no token, unknown, expired, revoked or a disabled user (the result is cached per request).</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        await RefuseAsync(Grpc.Core.StatusCode.Unauthenticated,
            result.Failure?.Message ?? "missing bearer token (metadata 'authorization: Bearer <token>').").ConfigureAwait(false);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        RefuseAsync(Grpc.Core.StatusCode.PermissionDenied,
            "this credential may not call this method (a share code only reads, through ChangeFeedService and QueryService).");

    /// <summary>A gRPC status for gRPC and gRPC-Web calls; for a JSON-transcoded call, the HTTP status and a JSON body.</summary>
    private Task RefuseAsync(Grpc.Core.StatusCode code, string message) => HttpApi.JsonStatusBody.IsTranscoded(Context)
        ? HttpApi.JsonStatusBody.WriteAsync(Response, code, message)
        : GrpcTrailersOnly.WriteAsync(Response, code, message);
}
