namespace HealthGrpc.Storage;

/// <summary>
/// Users and their bearer tokens (stored as hashes only). Administered by `healthgrpc user|token`, possibly from another
/// process than the server's: every change that takes a credential away (revoking a token, disabling a user, changing an
/// expiry) advances <see cref="GetAuthGenerationAsync"/>, so a server re-checks cached credentials only when it moved.
/// </summary>
public interface IAccountStore
{
    /// <summary>The user, or null when unknown.</summary>
    Task<UserAccount?> FindUserAsync(string userId, CancellationToken ct);

    /// <summary>Every user, ordered by id.</summary>
    Task<IReadOnlyList<UserAccount>> ListUsersAsync(CancellationToken ct);

    /// <summary>Disables the user: its tokens stop working at once. False when the user is unknown; idempotent.</summary>
    Task<bool> DisableUserAsync(string userId, CancellationToken ct);

    /// <summary>Adds a token (its hash) for an existing user; null when the user is unknown.</summary>
    Task<TokenInfo?> IssueTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, DateTimeOffset? expiresAt, CancellationToken ct);

    /// <summary>The tokens of one user (or of all users when null), oldest first. Never the token, only its id.</summary>
    Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? userId, CancellationToken ct);

    /// <summary>Revokes the token with this id (<see cref="TokenInfo.Id"/>).</summary>
    Task<TokenRevocation> RevokeTokenAsync(string tokenId, CancellationToken ct);

    /// <summary>The credential of a token hash (whether or not it is still valid), or null when unknown.</summary>
    Task<Credential?> FindCredentialAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct);

    /// <summary>A counter that advances whenever a credential is taken away (revoked, disabled, expiry changed).</summary>
    Task<long> GetAuthGenerationAsync(CancellationToken ct);
}
