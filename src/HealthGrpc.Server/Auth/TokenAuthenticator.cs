using System.Collections.Concurrent;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Auth;

/// <summary>
/// Resolves "authorization: Bearer &lt;token&gt;" to a user id. Known tokens are cached briefly, so a stream of
/// unary uploads does not cost a database read each; unknown tokens are never cached (a new token works at once).
/// </summary>
internal sealed class TokenAuthenticator(IHealthStore store, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (string UserId, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>The user of the authorization header value, or null when missing, malformed or unknown.</summary>
    public async ValueTask<string?> AuthenticateAsync(string? authorization, CancellationToken ct)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = authorization[scheme.Length..].Trim();
        if (token.Length is 0 or > 512)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(token, out var cached) && cached.Until > now)
        {
            return cached.UserId;
        }

        var userId = await store.FindUserByTokenHashAsync(BearerTokens.Hash(token), ct);
        if (userId is not null)
        {
            _cache[token] = (userId, now + CacheFor);
        }

        return userId;
    }
}
