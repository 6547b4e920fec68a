using HealthGrpc.Storage;

namespace HealthGrpc.Server.Sharing;

/// <summary>A grant just created, with its share code (shown only now) when it is read with one.</summary>
internal sealed record IssuedGrant(GrantCreation Outcome, GrantRecord? Grant, string? ShareCode);

/// <summary>Creates grants (SharingService and `healthgrpc grant create`): a new id, and for a share code the code, of which the store keeps only the hash.</summary>
internal static class GrantIssuer
{
    public static async Task<IssuedGrant> CreateAsync(IGrantStore store, string ownerUserId, GrantTerms terms, DateTimeOffset now, CancellationToken ct)
    {
        var code = terms.IsShareCode ? ShareCodes.Issue() : null;
        var grant = new NewGrant(
            ShareCodes.NewGrantId(), ownerUserId, terms.GranteeUserId, code is null ? (ReadOnlyMemory<byte>?)null : ShareCodes.Hash(code),
            terms.Types, terms.DataStart, terms.DataEnd, terms.ExpiresAt, now);
        var outcome = await store.CreateGrantAsync(grant, ct).ConfigureAwait(false);
        if (outcome != GrantCreation.Created)
        {
            return new IssuedGrant(outcome, null, null);
        }

        var stored = await store.FindGrantAsync(grant.GrantId, ct).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"grant {grant.GrantId} was stored but cannot be read back.");
        return new IssuedGrant(outcome, stored, code);
    }
}
