namespace HealthGrpc.Storage;

/// <summary>
/// A read-only grant: <see cref="OwnerUserId"/>'s samples of <see cref="Types"/> starting in
/// [<see cref="DataStart"/>, <see cref="DataEnd"/>) (null: unbounded), readable by <see cref="GranteeUserId"/>, or by
/// whoever holds the grant's share code when <see cref="GranteeUserId"/> is null, until <see cref="ExpiresAt"/> or
/// <see cref="RevokedAt"/>. Grants are never edited: revoke and create anew.
/// </summary>
public sealed record GrantRecord(
    string GrantId,
    string OwnerUserId,
    string? GranteeUserId,
    IReadOnlyList<int> Types,
    DateTimeOffset? DataStart,
    DateTimeOffset? DataEnd,
    DateTimeOffset ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt)
{
    /// <summary>Read through a share code (a bearer credential for someone without an account), not by a user.</summary>
    public bool IsShareCode => GranteeUserId is null;

    /// <summary>Neither revoked nor expired at <paramref name="now"/>.</summary>
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && ExpiresAt > now;
}

/// <summary>
/// A grant to create. Exactly one of <see cref="GranteeUserId"/> and <see cref="ShareCodeHash"/> is set: the hash
/// (SHA-256) of a share code the caller issued and shows once; the store never sees the code.
/// </summary>
public sealed record NewGrant(
    string GrantId,
    string OwnerUserId,
    string? GranteeUserId,
    ReadOnlyMemory<byte>? ShareCodeHash,
    IReadOnlyList<int> Types,
    DateTimeOffset? DataStart,
    DateTimeOffset? DataEnd,
    DateTimeOffset ExpiresAt,
    DateTimeOffset CreatedAt);

/// <summary>The outcome of <see cref="IGrantStore.CreateGrantAsync"/>.</summary>
public enum GrantCreation
{
    Created,
    UnknownOwner,
    UnknownGrantee,
}

/// <summary>Whose grants <see cref="IGrantStore.ListGrantsAsync"/> returns for a user.</summary>
public enum GrantSide
{
    /// <summary>Grants the user gave or was given.</summary>
    Either,

    /// <summary>Grants the user gave.</summary>
    Owner,

    /// <summary>Grants given to the user.</summary>
    Grantee,
}

/// <summary>The outcome of <see cref="IGrantStore.RevokeGrantAsync"/>.</summary>
public enum GrantRevocation
{
    Revoked,
    AlreadyRevoked,

    /// <summary>No such grant, or (with an owner) not one of that owner's grants: the same answer for both.</summary>
    NotFound,
}

/// <summary>
/// One read of an owner's data through a grant (the audit log the owner lists): which grant, who read (null: the share
/// code's holder), which RPC, the types and the time range asked for (null: unbounded), when.
/// </summary>
public sealed record GrantAccessRecord(
    long Id,
    string GrantId,
    string OwnerUserId,
    string? ReaderUserId,
    string Method,
    IReadOnlyList<int> Types,
    DateTimeOffset? DataStart,
    DateTimeOffset? DataEnd,
    DateTimeOffset At);

/// <summary>A read to record in the audit log, once per grant it went through.</summary>
public sealed record GrantAccess(
    IReadOnlyList<string> GrantIds,
    string? ReaderUserId,
    string Method,
    IReadOnlyList<int> Types,
    DateTimeOffset? DataStart,
    DateTimeOffset? DataEnd,
    DateTimeOffset At);
