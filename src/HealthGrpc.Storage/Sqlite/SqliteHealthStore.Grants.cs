namespace HealthGrpc.Storage.Sqlite;

/// <summary>Sharing grants and their audit log (<see cref="SqliteGrants"/>: short transactions of their own, outside the group commit).</summary>
public sealed partial class SqliteHealthStore : IGrantStore
{
    private SqliteGrants? _grantStore;

    // Stateless over the file: created on first use, a second instance from a racing first use is harmless.
    private SqliteGrants GrantStore => _grantStore ??= new SqliteGrants(_path, _options.BusyTimeout);

    public Task<GrantCreation> CreateGrantAsync(NewGrant grant, CancellationToken ct) => GrantStore.CreateGrantAsync(grant, ct);

    public Task<GrantRecord?> FindGrantAsync(string grantId, CancellationToken ct) => GrantStore.FindGrantAsync(grantId, ct);

    public Task<GrantRecord?> FindShareCodeGrantAsync(ReadOnlyMemory<byte> shareCodeHash, CancellationToken ct) =>
        GrantStore.FindShareCodeGrantAsync(shareCodeHash, ct);

    public Task<IReadOnlyList<GrantRecord>> FindActiveGrantsAsync(string ownerUserId, string granteeUserId, DateTimeOffset now, CancellationToken ct) =>
        GrantStore.FindActiveGrantsAsync(ownerUserId, granteeUserId, now, ct);

    public Task<IReadOnlyList<GrantRecord>> ListGrantsAsync(string? userId, GrantSide side, bool includeInactive, DateTimeOffset now, CancellationToken ct) =>
        GrantStore.ListGrantsAsync(userId, side, includeInactive, now, ct);

    public Task<GrantRevocation> RevokeGrantAsync(string grantId, string? ownerUserId, DateTimeOffset now, CancellationToken ct) =>
        GrantStore.RevokeGrantAsync(grantId, ownerUserId, now, ct);

    public Task RecordAccessAsync(GrantAccess access, CancellationToken ct) => GrantStore.RecordAccessAsync(access, ct);

    public Task<IReadOnlyList<GrantAccessRecord>> ListAccessAsync(string ownerUserId, string? grantId, long? beforeId, int limit, CancellationToken ct) =>
        GrantStore.ListAccessAsync(ownerUserId, grantId, beforeId, limit, ct);
}
