using System.Diagnostics;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>The writer's numbers for operators (<see cref="IWriterObservations"/>), kept apart from the commit loop itself.</summary>
public sealed partial class SqliteHealthStore
{
    /// <inheritdoc />
    public int QueuedWrites => _queue.Reader.Count;

    /// <inheritdoc />
    public event Action<GroupCommitObservation>? GroupCommitted;

    /// <summary>Runs one group transaction and reports its size and duration.</summary>
    private void ExecuteObserved(List<WorkItem> group)
    {
        var started = Stopwatch.GetTimestamp();
        ExecuteGroup(group);
        if (GroupCommitted is { } observers)
        {
            var rows = 0;
            foreach (var item in group)
            {
                rows += item.Rows;
            }

            observers(new GroupCommitObservation(group.Count, rows, Stopwatch.GetElapsedTime(started)));
        }
    }
}
