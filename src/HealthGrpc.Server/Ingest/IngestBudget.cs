namespace HealthGrpc.Server.Ingest;

/// <summary>
/// A server-wide budget of request bytes being validated and committed. A stream reserves its next batch's share
/// before it reads that batch; while it waits, it does not read, so HTTP/2 flow control pushes back on the client and
/// the bytes stay unparsed in Kestrel's bounded windows instead of as parsed objects (about fifteen times larger) on the
/// server's heap. 1,000 devices each holding one parsed batch while they wait would be hundreds of megabytes.
/// <para>
/// Two queues, each first come, first served: <see cref="AcquireAsync"/> is for batches already parsed (their memory
/// is spent, so they go first); <see cref="ReserveAsync"/> is for batches not read yet and waits behind every parsed
/// one. No waiter holds any of the budget while it waits, so waiters can never block each other in a cycle.
/// A request larger than the whole budget is capped at it and waits until it is alone.
/// </para>
/// </summary>
internal sealed class IngestBudget(IngestLimits limits)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _parsed = new();
    private readonly LinkedList<Waiter> _unread = new();
    private readonly long _capacity = Math.Max(1, limits.MaxBytesInProgress);
    private long _available = Math.Max(1, limits.MaxBytesInProgress);
    private long _parsedWaits;
    private long _reservationWaits;

    /// <summary>How many parsed batches had to wait for their share, holding their memory meanwhile (diagnostics, tests).</summary>
    public long ParsedWaits => Interlocked.Read(ref _parsedWaits);

    /// <summary>How many reservations had to wait: the server pushing back on clients by not reading (diagnostics, tests).</summary>
    public long ReservationWaits => Interlocked.Read(ref _reservationWaits);

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

    /// <summary>The share a request of <paramref name="bytes"/> is granted: at least 1, at most the whole budget.</summary>
    public long ShareOf(long bytes) => Math.Clamp(bytes, 1, _capacity);

    /// <summary>For a batch already parsed: waits (ahead of every reservation) until its share is granted; returns it.</summary>
    public ValueTask<long> AcquireAsync(long bytes, CancellationToken ct) => WaitAsync(parsed: true, bytes, ct);

    /// <summary>For a batch not read yet: waits behind every other waiter until its expected share is granted; returns it.</summary>
    public ValueTask<long> ReserveAsync(long bytes, CancellationToken ct) => WaitAsync(parsed: false, bytes, ct);

    /// <summary>Grants <paramref name="bytes"/> only if it can be done now without overtaking a parsed batch.</summary>
    public bool TryAcquire(long bytes)
    {
        lock (_gate)
        {
            if (_parsed.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return true;
            }

            return false;
        }
    }

    public void Release(long granted)
    {
        if (granted <= 0)
        {
            return;
        }

        lock (_gate)
        {
            _available += granted;
            GrantWaiters();
        }
    }

    private async ValueTask<long> WaitAsync(bool parsed, long bytes, CancellationToken ct)
    {
        var wanted = ShareOf(bytes);
        var queue = parsed ? _parsed : _unread;
        LinkedListNode<Waiter> node;
        lock (_gate)
        {
            // A parsed batch overtakes reservations; a reservation overtakes nobody.
            if (_parsed.Count == 0 && (parsed || _unread.Count == 0) && _available >= wanted)
            {
                _available -= wanted;
                return wanted;
            }

            if (parsed)
            {
                _parsedWaits++;
            }
            else
            {
                _reservationWaits++;
            }

            node = queue.AddLast(new Waiter(wanted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
        }

        await using var registration = ct.Register(() => Abandon(node));
        await node.Value.Ready.Task;
        return wanted;
    }

    private void Abandon(LinkedListNode<Waiter> node)
    {
        lock (_gate)
        {
            if (node.List is not { } queue)
            {
                return; // already granted: the caller releases it
            }

            queue.Remove(node);
            node.Value.Ready.TrySetCanceled();
            GrantWaiters(); // the head may have been the one blocking smaller waiters behind it
        }
    }

    private void GrantWaiters()
    {
        if (GrantFrom(_parsed))
        {
            GrantFrom(_unread);
        }
    }

    /// <summary>Grants the queue's waiters in order while they fit; returns whether the queue is now empty.</summary>
    private bool GrantFrom(LinkedList<Waiter> queue)
    {
        while (queue.First is { } head && head.Value.Bytes <= _available)
        {
            queue.RemoveFirst();
            _available -= head.Value.Bytes;
            head.Value.Ready.TrySetResult();
        }

        return queue.Count == 0;
    }

    private readonly record struct Waiter(long Bytes, TaskCompletionSource Ready);
}
