using HealthGrpc.Storage;

namespace HealthGrpc.Server.Sharing;

/// <summary>
/// Decides whose data a read call may read: the caller's own (owner_user_id empty or their id), or another owner's
/// through the grants active now — a user's grants from that owner, or the one grant of a share code. Anything else is
/// a <see cref="GrantDeniedException"/> that says the same whether the owner exists or not. Runs for every call (and
/// again on an open Subscribe, see <see cref="CheckStillGrantedAsync"/>), so a revocation or an expiry counts at once.
/// </summary>
internal sealed class ReadAccessResolver(IGrantStore grants, IHealthStore accounts, TimeProvider clock)
{
    private const string NoGrant = "no active grant lets you read owner_user_id's data.";

    public async Task<ReadAccess> ResolveAsync(Reader reader, string ownerUserId, CancellationToken ct)
    {
        if (reader.UserId is { } userId && (ownerUserId.Length == 0 || string.Equals(ownerUserId, userId, StringComparison.Ordinal)))
        {
            return ReadAccess.Own(userId, clock);
        }

        // Read before the grants: a revocation committed in between moves it past this value.
        var generation = await accounts.GetAuthGenerationAsync(ct).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        if (reader.ShareGrantId is { } grantId)
        {
            var grant = await grants.FindGrantAsync(grantId, ct).ConfigureAwait(false);
            if (grant is null || !grant.IsActive(now))
            {
                throw new GrantDeniedException("this share code's grant was revoked or has expired.");
            }

            if (ownerUserId.Length > 0 && !string.Equals(ownerUserId, grant.OwnerUserId, StringComparison.Ordinal))
            {
                throw new GrantDeniedException(NoGrant);
            }

            return ReadAccess.Through(reader, grant.OwnerUserId, new GrantScope([grant]), generation, grants, clock);
        }

        var active = await grants.FindActiveGrantsAsync(ownerUserId, reader.UserId!, now, ct).ConfigureAwait(false);
        return active.Count == 0
            ? throw new GrantDeniedException(NoGrant)
            : ReadAccess.Through(reader, ownerUserId, new GrantScope(active), generation, grants, clock);
    }

    /// <summary>
    /// For a long read (Subscribe): throws when a grant the access reads through was revoked or expired since it was
    /// resolved. Cheap while nothing was revoked: the clock, then one one-row read of the auth generation.
    /// </summary>
    public async Task CheckStillGrantedAsync(ReadAccess access, CancellationToken ct)
    {
        if (access.Scope is not { } scope)
        {
            return;
        }

        if (scope.ExpiresAt <= clock.GetUtcNow())
        {
            throw new GrantDeniedException("the grant this stream reads through expired; the stream ends.");
        }

        var generation = await accounts.GetAuthGenerationAsync(ct).ConfigureAwait(false);
        if (generation == access.AuthGeneration)
        {
            return;
        }

        foreach (var grant in scope.Grants)
        {
            if (await grants.FindGrantAsync(grant.GrantId, ct).ConfigureAwait(false) is not { RevokedAt: null })
            {
                throw new GrantDeniedException("the grant this stream reads through was revoked; the stream ends.");
            }
        }

        // Something else was revoked (a token, another grant): check again only when the generation moves again.
        access.CheckedAt(generation);
    }
}
