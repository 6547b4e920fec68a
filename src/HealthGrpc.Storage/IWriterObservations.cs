namespace HealthGrpc.Storage;

/// <summary>
/// What a store's writer can tell an operator (the server exports it as metrics). Optional: a store that does not
/// implement it simply has no writer metrics. Kept out of <see cref="IHealthStore"/> so providers add it when they can.
/// </summary>
public interface IWriterObservations
{
    /// <summary>Work items (batches, probes, account writes) queued for the writer and not yet taken into a group.</summary>
    int QueuedWrites { get; }

    /// <summary>
    /// Raised on the writer's thread after each group transaction ended (committed, or failed and rolled back). Handlers must be quick
    /// and must not throw: they run inside the commit loop.
    /// </summary>
    event Action<GroupCommitObservation>? GroupCommitted;
}

/// <summary>One group transaction of the writer: how many work items and rows it held and how long it took.</summary>
public readonly record struct GroupCommitObservation(int Items, int Rows, TimeSpan Duration);
