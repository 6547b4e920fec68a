namespace HealthGrpc.Storage;

/// <summary>A user of the server, with how many of its tokens are neither revoked nor expired.</summary>
public sealed record UserAccount(string UserId, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt, int ActiveTokens);

/// <summary>
/// What is known of a token without the token: its public id (the first 6 bytes of its SHA-256 hash, in hex, which
/// whoever holds the token can compute too), its user and its life.
/// </summary>
public sealed record TokenInfo(string Id, string UserId, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>A token's credential as stored; <see cref="Check"/> says whether it is valid now.</summary>
public sealed record Credential(string UserId, string TokenId, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? UserDisabledAt)
{
    /// <summary>Why the credential does not authenticate at <paramref name="now"/>, or <see cref="CredentialState.Valid"/>.</summary>
    public CredentialState Check(DateTimeOffset now) =>
        RevokedAt is not null ? CredentialState.Revoked
        : UserDisabledAt is not null ? CredentialState.UserDisabled
        : ExpiresAt is { } expires && expires <= now ? CredentialState.Expired
        : CredentialState.Valid;
}

/// <summary>Whether a credential authenticates.</summary>
public enum CredentialState
{
    Valid,
    Revoked,
    Expired,
    UserDisabled,
}

/// <summary>The outcome of <see cref="IAccountStore.RevokeTokenAsync"/>.</summary>
public enum TokenRevocation
{
    Revoked,
    AlreadyRevoked,
    NotFound,

    /// <summary>The id matches more than one token (two hashes sharing 48 bits): nothing was revoked.</summary>
    Ambiguous,
}
