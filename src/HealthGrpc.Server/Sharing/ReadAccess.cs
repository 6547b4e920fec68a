using HealthGrpc.Storage;

namespace HealthGrpc.Server.Sharing;

/// <summary>
/// Whose data one read call reads and what of it: the caller's own data (<see cref="Scope"/> null: everything), or an
/// owner's data through the caller's grants (<see cref="Scope"/>). Reads through grants are recorded in the owner's
/// audit log (<see cref="RecordAsync"/>) before any data is returned.
/// </summary>
internal sealed class ReadAccess
{
    private readonly IGrantStore? _grants;
    private readonly TimeProvider _clock;

    private ReadAccess(Reader reader, string ownerUserId, GrantScope? scope, long authGeneration, IGrantStore? grants, TimeProvider clock)
    {
        Reader = reader;
        OwnerUserId = ownerUserId;
        Scope = scope;
        AuthGeneration = authGeneration;
        _grants = grants;
        _clock = clock;
    }

    public Reader Reader { get; }

    public string OwnerUserId { get; }

    /// <summary>Null: the caller reads their own data, all of it.</summary>
    public GrantScope? Scope { get; }

    /// <summary>The store's auth generation read before the grants were last checked (a revocation since moved it).</summary>
    public long AuthGeneration { get; private set; }

    /// <summary>The grants were found still active after <paramref name="generation"/> was read.</summary>
    public void CheckedAt(long generation) => AuthGeneration = generation;

    public static ReadAccess Own(string userId, TimeProvider clock) => new(Sharing.Reader.User(userId), userId, null, 0, null, clock);

    public static ReadAccess Through(Reader reader, string ownerUserId, GrantScope scope, long authGeneration, IGrantStore grants, TimeProvider clock) =>
        new(reader, ownerUserId, scope, authGeneration, grants, clock);

    /// <summary>Records the read (one audit entry per grant of the scope); nothing for a read of one's own data.</summary>
    public Task RecordAsync(string method, IReadOnlyList<int> types, long? fromUnixMs, long? toUnixMs, CancellationToken ct)
    {
        if (Scope is null)
        {
            return Task.CompletedTask;
        }

        var access = new GrantAccess(
            Scope.Grants.Select(grant => grant.GrantId).ToArray(),
            Reader.UserId,
            method,
            types,
            fromUnixMs is { } from ? DateTimeOffset.FromUnixTimeMilliseconds(from) : null,
            toUnixMs is { } to ? DateTimeOffset.FromUnixTimeMilliseconds(to) : null,
            _clock.GetUtcNow());
        return _grants!.RecordAccessAsync(access, ct);
    }
}
