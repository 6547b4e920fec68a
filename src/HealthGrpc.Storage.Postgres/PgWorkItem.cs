namespace HealthGrpc.Storage.Postgres;

/// <summary>A unit of work for an instance's writer loop. Its task completes only after the group holding it committed.</summary>
internal abstract class PgWorkItem(int rows, CancellationToken cancellationToken)
{
    public int Rows { get; } = rows;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>True once the item's task was completed, failed or canceled.</summary>
    public bool Finished { get; private set; }

    public void Complete()
    {
        if (!Finished)
        {
            Finished = true;
            SetResult();
        }
    }

    public void Fail(Exception error)
    {
        if (!Finished)
        {
            Finished = true;
            SetException(error);
        }
    }

    public void Cancel()
    {
        if (!Finished)
        {
            Finished = true;
            SetCanceled();
        }
    }

    protected abstract void SetResult();

    protected abstract void SetException(Exception error);

    protected abstract void SetCanceled();
}

/// <summary>A work item whose task carries a result set by the group (the batch's outcome, or true for a probe).</summary>
internal class PgWorkItem<T>(int rows, CancellationToken cancellationToken) : PgWorkItem(rows, cancellationToken)
{
    // Continuations run on the thread pool, never inline on the writer loop.
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _completion.Task;

    public T? Result { get; set; }

    protected override void SetResult() => _completion.TrySetResult(Result!);

    protected override void SetException(Exception error) => _completion.TrySetException(error);

    protected override void SetCanceled() => _completion.TrySetCanceled(CancellationToken);
}

/// <summary>One batch to commit.</summary>
internal sealed class CommitItem(IngestBatch batch, CancellationToken cancellationToken)
    : PgWorkItem<CommitOutcome>(batch.ItemCount + 1, cancellationToken)
{
    public IngestBatch Batch { get; } = batch;
}
