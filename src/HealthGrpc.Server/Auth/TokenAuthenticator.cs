using System.Collections.Concurrent;
using System.Globalization;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Auth;

/// <summary>
/// Resolves "authorization: Bearer &lt;token&gt;" to a user id, or to the reason it does not authenticate. Called for
/// every call and again for every batch of a Sync stream, so a revoked token or a disabled user stops working at once,
/// also on streams opened before, even when `healthgrpc token revoke` ran in another process. Kept cheap: a known
/// credential is cached with the store's auth generation (one one-row read per check); only when the generation moved
/// (something was revoked or disabled) is the credential read again. Expiry is checked against the clock every time.
/// Unknown tokens are never cached (a new token works at once). A share code ("hgs_") authenticates as the holder of
/// its grant while the grant is active (one indexed read; what it may read is decided per call by the grant).
/// </summary>
internal sealed class TokenAuthenticator(IHealthStore store, IGrantStore grants, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (Credential Credential, long Generation)> _cache = new(StringComparer.Ordinal);

    /// <summary>The user of the authorization header value, or why it does not authenticate.</summary>
    public async ValueTask<Authentication> AuthenticateAsync(string? authorization, CancellationToken ct)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return Authentication.Refused("missing or malformed authorization (metadata 'authorization: Bearer <token>').");
        }

        var token = authorization[scheme.Length..].Trim();
        if (token.Length is 0 or > 512)
        {
            return Authentication.Refused("malformed bearer token (metadata 'authorization: Bearer <token>').");
        }

        if (ShareCodes.IsShareCode(token))
        {
            return await AuthenticateShareCodeAsync(token, ct).ConfigureAwait(false);
        }

        // Read before the credential: a revocation committed in between moves the generation past the cached one.
        var generation = await store.GetAuthGenerationAsync(ct).ConfigureAwait(false);
        if (!_cache.TryGetValue(token, out var cached) || cached.Generation != generation)
        {
            if (await store.FindCredentialAsync(BearerTokens.Hash(token), ct).ConfigureAwait(false) is not { } credential)
            {
                _cache.TryRemove(token, out _);
                return Authentication.Refused("unknown bearer token.");
            }

            cached = (credential, generation);
            _cache[token] = cached;
        }

        var found = cached.Credential;
        return found.Check(clock.GetUtcNow()) switch
        {
            CredentialState.Valid => Authentication.User(found.UserId),
            CredentialState.Expired => Authentication.Refused(
                $"bearer token {found.TokenId} expired at {found.ExpiresAt!.Value.ToString("u", CultureInfo.InvariantCulture)}: issue a new one (healthgrpc token create)."),
            CredentialState.Revoked => Authentication.Refused($"bearer token {found.TokenId} was revoked."),
            _ => Authentication.Refused($"user '{found.UserId}' is disabled."),
        };
    }

    private async Task<Authentication> AuthenticateShareCodeAsync(string code, CancellationToken ct)
    {
        var grant = await grants.FindShareCodeGrantAsync(ShareCodes.Hash(code), ct).ConfigureAwait(false);
        if (grant is null)
        {
            return Authentication.Refused("unknown share code.");
        }

        return grant.RevokedAt is not null ? Authentication.Refused($"the share code of grant {grant.GrantId} was revoked.")
            : grant.ExpiresAt <= clock.GetUtcNow() ? Authentication.Refused(
                $"the share code of grant {grant.GrantId} expired at {grant.ExpiresAt.ToString("u", CultureInfo.InvariantCulture)}.")
            : Authentication.ShareCode(grant.GrantId);
    }
}

/// <summary>The user a bearer token authenticates, or the grant of a share code, or (both null) the reason it does not.</summary>
internal readonly record struct Authentication(string? UserId, string? ShareGrantId, string? Failure)
{
    public bool Succeeded => Failure is null;

    public static Authentication User(string userId) => new(userId, null, null);

    public static Authentication ShareCode(string grantId) => new(null, grantId, null);

    public static Authentication Refused(string reason) => new(null, null, reason);
}
