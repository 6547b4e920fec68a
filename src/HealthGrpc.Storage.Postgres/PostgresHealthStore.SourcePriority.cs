namespace HealthGrpc.Storage.Postgres;

/// <summary>Per-user source priority (<see cref="PgSourcePriorities"/>: short statements of their own, outside the group commit).</summary>
public sealed partial class PostgresHealthStore : ISourcePriorityStore
{
    private PgSourcePriorities? _priorities;

    // Stateless over the data source: created on first use, a second instance from a racing first use is harmless.
    private PgSourcePriorities Priorities => _priorities ??= new PgSourcePriorities(_dataSource);

    public Task<IReadOnlyList<int>?> GetSourcePriorityAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return RunAsync(() => Priorities.ReadAsync(userId, ct));
    }

    public Task<bool> SetSourcePriorityAsync(string userId, IReadOnlyList<int> kinds, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(kinds);
        var copy = kinds.ToArray();
        return RunAsync(() => Priorities.WriteAsync(userId, copy, ct));
    }
}
