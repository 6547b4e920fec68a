using HealthGrpc.Storage;

namespace HealthGrpc.Server.Sharing;

/// <summary>
/// The grant store of a provider that does not keep grants yet (PostgreSQL today): no grant exists, so every read of
/// another user's data is PERMISSION_DENIED as usual, and creating one answers UNIMPLEMENTED naming the provider
/// (<see cref="SharingUnsupportedException"/>) instead of pretending it was stored.
/// </summary>
internal sealed class NoGrantStore(string provider) : IGrantStore
{
    public Task<GrantCreation> CreateGrantAsync(NewGrant grant, CancellationToken ct) => throw Unsupported();

    public Task<GrantRecord?> FindGrantAsync(string grantId, CancellationToken ct) => Task.FromResult<GrantRecord?>(null);

    public Task<GrantRecord?> FindShareCodeGrantAsync(ReadOnlyMemory<byte> shareCodeHash, CancellationToken ct) => Task.FromResult<GrantRecord?>(null);

    public Task<IReadOnlyList<GrantRecord>> FindActiveGrantsAsync(string ownerUserId, string granteeUserId, DateTimeOffset now, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<GrantRecord>>([]);

    public Task<IReadOnlyList<GrantRecord>> ListGrantsAsync(string? userId, GrantSide side, bool includeInactive, DateTimeOffset now, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<GrantRecord>>([]);

    public Task<GrantRevocation> RevokeGrantAsync(string grantId, string? ownerUserId, DateTimeOffset now, CancellationToken ct) =>
        Task.FromResult(GrantRevocation.NotFound);

    // Unreachable without a grant; refusing keeps an audit entry from ever being silently dropped.
    public Task RecordAccessAsync(GrantAccess access, CancellationToken ct) => throw Unsupported();

    public Task<IReadOnlyList<GrantAccessRecord>> ListAccessAsync(string ownerUserId, string? grantId, long? beforeId, int limit, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<GrantAccessRecord>>([]);

    private SharingUnsupportedException Unsupported() =>
        new($"sharing is not available on the '{provider}' storage provider yet: grants need the sqlite provider.");
}

/// <summary>The configured store keeps no grants (see <see cref="NoGrantStore"/>): UNIMPLEMENTED.</summary>
internal sealed class SharingUnsupportedException(string message) : Exception(message);
