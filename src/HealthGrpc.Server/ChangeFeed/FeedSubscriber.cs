using System.Threading.Channels;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// One open Subscribe call as the hub sees it: a wake-up signal that coalesces (any number of commits before the
/// subscription looks again is one wake-up: it reads its user's feed by sequence, never the notifications), and counters
/// of what the subscription read from the store and wrote to its stream (what it holds is their difference), and
/// whether it fell behind.
/// </summary>
internal sealed class FeedSubscriber
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly TaskCompletionSource _fellBehind = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _changesRead;
    private long _messagesWritten;
    private long _mostHeld;

    public FeedSubscriber(string userId) => UserId = userId;

    public string UserId { get; }

    /// <summary>Changes read from the store so far.</summary>
    public long ChangesRead => Interlocked.Read(ref _changesRead);

    /// <summary>Messages (changes, caught-up marker, heartbeats) whose write to the stream completed.</summary>
    public long MessagesWritten => Interlocked.Read(ref _messagesWritten);

    /// <summary>The most changes this subscription ever held (read from the store, not yet written), taken at each read.</summary>
    public long MostHeld => Interlocked.Read(ref _mostHeld);

    /// <summary>Completes when a write waited longer than the write timeout: the call ends once that write completes (or is abandoned).</summary>
    public Task FellBehind => _fellBehind.Task;

    /// <summary>Called by the user's <see cref="UserFeed"/> once it read a commit's changes. Never blocks.</summary>
    public void Wake() => _signal.Writer.TryWrite(true);

    /// <summary>Waits for a wake-up; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (_signal.Reader.TryRead(out _))
        {
            return true;
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(timeout);
        try
        {
            await _signal.Reader.WaitToReadAsync(idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }

        return _signal.Reader.TryRead(out _);
    }

    public void CountRead(int changes)
    {
        // Reads and writes of one subscription run one after the other on its own loop, so a plain max is exact.
        var held = Interlocked.Add(ref _changesRead, changes) - MessagesWritten;
        if (held > MostHeld)
        {
            Interlocked.Exchange(ref _mostHeld, held);
        }
    }

    public void CountWritten() => Interlocked.Increment(ref _messagesWritten);

    public void MarkTooSlow() => _fellBehind.TrySetResult();
}
