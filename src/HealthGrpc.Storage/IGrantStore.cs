namespace HealthGrpc.Storage;

/// <summary>
/// Read-only sharing grants and the audit log of reads through them. Administered by the server's SharingService and
/// by `healthgrpc grant`, possibly from another process: revoking a grant (or changing its expiry) advances the same
/// counter as revoking a token (<see cref="IAccountStore.GetAuthGenerationAsync"/>), so a server holding a grant open
/// (a live subscription) notices with one one-row read.
/// </summary>
public interface IGrantStore
{
    /// <summary>Stores a new grant; nothing is stored when the owner or the grantee user is unknown.</summary>
    Task<GrantCreation> CreateGrantAsync(NewGrant grant, CancellationToken ct);

    /// <summary>The grant with this id, or null.</summary>
    Task<GrantRecord?> FindGrantAsync(string grantId, CancellationToken ct);

    /// <summary>The grant of a share code's hash (active or not), or null when no grant has it.</summary>
    Task<GrantRecord?> FindShareCodeGrantAsync(ReadOnlyMemory<byte> shareCodeHash, CancellationToken ct);

    /// <summary>The grants from <paramref name="ownerUserId"/> to the user <paramref name="granteeUserId"/> active at <paramref name="now"/>.</summary>
    Task<IReadOnlyList<GrantRecord>> FindActiveGrantsAsync(string ownerUserId, string granteeUserId, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Grants of <paramref name="userId"/> on <paramref name="side"/> (every grant when <paramref name="userId"/> is null),
    /// newest first; without <paramref name="includeInactive"/> only those active at <paramref name="now"/>.
    /// </summary>
    Task<IReadOnlyList<GrantRecord>> ListGrantsAsync(string? userId, GrantSide side, bool includeInactive, DateTimeOffset now, CancellationToken ct);

    /// <summary>Revokes the grant at <paramref name="now"/>; with <paramref name="ownerUserId"/>, only a grant that user gave.</summary>
    Task<GrantRevocation> RevokeGrantAsync(string grantId, string? ownerUserId, DateTimeOffset now, CancellationToken ct);

    /// <summary>Records one read through grants (one audit entry per grant), durably, before the data is returned.</summary>
    Task RecordAccessAsync(GrantAccess access, CancellationToken ct);

    /// <summary>
    /// The audit entries of the grants <paramref name="ownerUserId"/> gave (of one grant when <paramref name="grantId"/>
    /// is set), newest first, with an id below <paramref name="beforeId"/> when set, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<GrantAccessRecord>> ListAccessAsync(string ownerUserId, string? grantId, long? beforeId, int limit, CancellationToken ct);
}
