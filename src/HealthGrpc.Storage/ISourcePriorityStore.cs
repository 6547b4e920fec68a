namespace HealthGrpc.Storage;

/// <summary>
/// Each user's own source priority (optional for a provider, beside <see cref="IHealthStore"/>): the order of device
/// kinds, highest first, that aggregates use to pick one source per slot when a request names none. Kinds are the
/// contract's DeviceKind numbers; the store keeps them as given (the server validates them).
/// </summary>
public interface ISourcePriorityStore
{
    /// <summary>The user's stored order, highest first (empty: none stored, the default applies), or null when the user is unknown.</summary>
    Task<IReadOnlyList<int>?> GetSourcePriorityAsync(string userId, CancellationToken ct);

    /// <summary>Replaces the user's order (empty: back to the default); false when the user is unknown.</summary>
    Task<bool> SetSourcePriorityAsync(string userId, IReadOnlyList<int> kinds, CancellationToken ct);
}
