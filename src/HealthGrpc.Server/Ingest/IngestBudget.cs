namespace HealthGrpc.Server.Ingest;

/// <summary>
/// A server-wide budget of request bytes being validated and committed. A batch waits for its share before it is
/// processed; while it waits, its stream stops reading, so HTTP/2 flow control pushes back on the client instead of the
/// server holding every stream's backlog in memory (1,000 devices x 16 batches in flight would be gigabytes).
/// Waiters are served first come, first served; a batch larger than the whole budget waits until it is alone.
/// </summary>
internal sealed class IngestBudget(IngestLimits limits)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<(long Bytes, TaskCompletionSource Ready)> _waiters = new();
    private readonly long _capacity = Math.Max(1, limits.MaxBytesInProgress);
    private long _available = Math.Max(1, limits.MaxBytesInProgress);
    private long _waits;

    /// <summary>How many acquisitions had to wait: a sign the server is pushing back (diagnostics, tests).</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Bytes currently granted (for tests and diagnostics).</summary>
    public long InUse
    {
        get
        {
            lock (_gate)
            {
                return _capacity - _available;
            }
        }
    }

    /// <summary>Waits until <paramref name="bytes"/> (capped at the capacity) are granted; returns the granted amount to release.</summary>
    public async ValueTask<long> AcquireAsync(long bytes, CancellationToken ct)
    {
        var wanted = Math.Clamp(bytes, 1, _capacity);
        LinkedListNode<(long, TaskCompletionSource)> node;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _available >= wanted)
            {
                _available -= wanted;
                return wanted;
            }

            _waits++;
            node = _waiters.AddLast((wanted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
        }

        using var registration = ct.Register(() => Abandon(node));
        await node.Value.Item2.Task;
        return wanted;
    }

    public void Release(long granted)
    {
        lock (_gate)
        {
            _available += granted;
            GrantWaiters();
        }
    }

    private void Abandon(LinkedListNode<(long Bytes, TaskCompletionSource Ready)> node)
    {
        lock (_gate)
        {
            if (node.List is null)
            {
                return; // already granted: the caller releases it
            }

            _waiters.Remove(node);
            node.Value.Ready.TrySetCanceled();
            GrantWaiters(); // the head may have been the one blocking smaller waiters behind it
        }
    }

    private void GrantWaiters()
    {
        while (_waiters.First is { } head && head.Value.Bytes <= _available)
        {
            _waiters.RemoveFirst();
            _available -= head.Value.Bytes;
            head.Value.Ready.TrySetResult();
        }
    }
}
