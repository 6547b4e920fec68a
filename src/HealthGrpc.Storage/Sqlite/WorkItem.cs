namespace HealthGrpc.Storage.Sqlite;

/// <summary>A unit of work for the writer loop. Its task completes only after the group holding it committed.</summary>
internal abstract class WorkItem(int rows, CancellationToken cancellationToken)
{
    public int Rows { get; } = rows;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>True once the item's task was failed or canceled (it is then not completed again).</summary>
    public bool Finished { get; protected set; }

    public abstract void Execute(SqliteWriter writer, DateTimeOffset commitTime);

    public abstract void Complete();

    public abstract void Fail(Exception error);

    public abstract void Cancel();
}

internal sealed class WorkItem<T>(int rows, Func<SqliteWriter, DateTimeOffset, T> action, CancellationToken cancellationToken)
    : WorkItem(rows, cancellationToken)
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private T? _result;

    public Task<T> Task => _completion.Task;

    public override void Execute(SqliteWriter writer, DateTimeOffset commitTime) => _result = action(writer, commitTime);

    public override void Complete()
    {
        if (!Finished)
        {
            Finished = true;
            _completion.TrySetResult(_result!);
        }
    }

    public override void Fail(Exception error)
    {
        if (!Finished)
        {
            Finished = true;
            _completion.TrySetException(error);
        }
    }

    public override void Cancel()
    {
        if (!Finished)
        {
            Finished = true;
            _completion.TrySetCanceled(CancellationToken);
        }
    }
}
