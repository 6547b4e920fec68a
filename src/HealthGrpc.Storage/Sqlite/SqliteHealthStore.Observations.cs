namespace HealthGrpc.Storage.Sqlite;

/// <summary>The writer's numbers for operators (<see cref="IWriterObservations"/>), measured by the commit loop.</summary>
public sealed partial class SqliteHealthStore
{
    /// <inheritdoc />
    public int QueuedWrites => _commits.Queued;

    /// <inheritdoc />
    public event Action<GroupCommitObservation>? GroupCommitted
    {
        add => _commits.GroupCommitted += value;
        remove => _commits.GroupCommitted -= value;
    }
}
