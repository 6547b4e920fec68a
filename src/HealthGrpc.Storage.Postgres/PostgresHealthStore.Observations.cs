using System.Diagnostics;

namespace HealthGrpc.Storage.Postgres;

/// <summary>The writer's numbers for operators (<see cref="IWriterObservations"/>), measured around each transaction of the writer loop.</summary>
public sealed partial class PostgresHealthStore : IWriterObservations
{
    /// <inheritdoc />
    public int QueuedWrites => _queue.Reader.Count;

    /// <inheritdoc />
    public event Action<GroupCommitObservation>? GroupCommitted;

    /// <summary>
    /// Runs one transaction of the writer loop (an ingest group, or a retention call of its own) and reports its items,
    /// rows and duration once it ended: committed, or failed and rolled back (the transaction fails its items itself).
    /// </summary>
    private async Task ObservedAsync(List<PgWorkItem> items, Func<Task> transaction)
    {
        var started = Stopwatch.GetTimestamp();
        await transaction().ConfigureAwait(false);
        if (GroupCommitted is { } observers)
        {
            var rows = 0;
            foreach (var item in items)
            {
                rows += item.Rows;
            }

            observers(new GroupCommitObservation(items.Count, rows, Stopwatch.GetElapsedTime(started)));
        }
    }
}
