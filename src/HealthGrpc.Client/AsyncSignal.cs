namespace HealthGrpc.Client;

/// <summary>A wake-up signal: <see cref="Set"/> wakes every current waiter, or the next one when nobody waits (no lost wake-ups).</summary>
internal sealed class AsyncSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set()
    {
        lock (_lock)
        {
            _tcs.TrySetResult();
        }
    }

    /// <summary>Waits for a Set (consuming it); false on timeout.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        Task task;
        lock (_lock)
        {
            task = _tcs.Task;
        }

        try
        {
            await task.WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }

        lock (_lock)
        {
            if (_tcs.Task.IsCompleted)
            {
                _tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        return true;
    }
}
