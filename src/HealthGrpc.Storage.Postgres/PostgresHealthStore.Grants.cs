namespace HealthGrpc.Storage.Postgres;

/// <summary>Sharing grants and their audit log (<see cref="PgGrants"/>: short statements of their own, outside the group commit).</summary>
public sealed partial class PostgresHealthStore : IGrantStore
{
    public Task<GrantCreation> CreateGrantAsync(NewGrant grant, CancellationToken ct) => RunAsync(() => _grants.CreateGrantAsync(grant, ct));

    public Task<GrantRecord?> FindGrantAsync(string grantId, CancellationToken ct) => RunAsync(() => _grants.FindGrantAsync(grantId, ct));

    public Task<GrantRecord?> FindShareCodeGrantAsync(ReadOnlyMemory<byte> shareCodeHash, CancellationToken ct) =>
        RunAsync(() => _grants.FindShareCodeGrantAsync(shareCodeHash, ct));

    public Task<IReadOnlyList<GrantRecord>> FindActiveGrantsAsync(string ownerUserId, string granteeUserId, DateTimeOffset now, CancellationToken ct) =>
        RunAsync(() => _grants.FindActiveGrantsAsync(ownerUserId, granteeUserId, now, ct));

    public Task<IReadOnlyList<GrantRecord>> ListGrantsAsync(string? userId, GrantSide side, bool includeInactive, DateTimeOffset now, CancellationToken ct) =>
        RunAsync(() => _grants.ListGrantsAsync(userId, side, includeInactive, now, ct));

    public Task<GrantRevocation> RevokeGrantAsync(string grantId, string? ownerUserId, DateTimeOffset now, CancellationToken ct) =>
        RunAsync(() => _grants.RevokeGrantAsync(grantId, ownerUserId, now, ct));

    public Task RecordAccessAsync(GrantAccess access, CancellationToken ct) => RunAsync(() => _grants.RecordAccessAsync(access, ct));

    public Task<IReadOnlyList<GrantAccessRecord>> ListAccessAsync(string ownerUserId, string? grantId, long? beforeId, int limit, CancellationToken ct) =>
        RunAsync(() => _grants.ListAccessAsync(ownerUserId, grantId, beforeId, limit, ct));
}
