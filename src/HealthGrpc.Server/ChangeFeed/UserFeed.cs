using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>One change of the shared window: the stored record (for filters) and its wire form, mapped once for every subscriber.</summary>
internal sealed record FeedEntry(ChangeRecord Record, Change Wire);

/// <summary>A slice of a user's feed for one subscriber; <see cref="HasMore"/> when more changes follow it.</summary>
internal sealed record FeedSlice(IReadOnlyList<FeedEntry> Entries, bool HasMore);

/// <summary>
/// The live feed of one user, shared by all of the user's open Subscribe calls on this server: after a commit it reads
/// the store ONCE after its head and keeps the newest changes in a bounded window (every change with a sequence in
/// <c>(floor, head]</c>, contiguous), then wakes the subscribers, which take their next slice from the window instead of
/// each re-reading the store. A subscriber whose position is not inside the window (it is behind the window's floor,
/// or the window is not anchored yet or lost its place after a failed read) reads the store itself, as before, so
/// the window is only a cache: nothing is missed or repeated, and a slow subscriber never makes it grow.
/// </summary>
internal sealed class UserFeed
{
    private readonly IHealthStore _store;
    private readonly int _capacity;
    private readonly int _readSize;
    private readonly Lock _gate = new();
    private readonly List<FeedEntry> _window = [];
    private FeedSubscriber[] _subscribers = [];
    private long _floor = -1; // -1: not anchored (the window covers nothing yet)
    private long _head = -1;
    private int _pendingRefreshes;

    public UserFeed(string userId, IHealthStore store, ChangeFeedOptions options)
    {
        UserId = userId;
        _store = store;
        _capacity = Math.Max(1, options.SharedWindowSize);
        _readSize = Math.Max(1, options.SubscribeReadSize);
        // Anchor the window at the feed's current end; commits before that are read by each subscriber's catch-up.
        OnCommitted();
    }

    public string UserId { get; }

    public IReadOnlyList<FeedSubscriber> Subscribers => Volatile.Read(ref _subscribers);

    public void Add(FeedSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }
    }

    /// <summary>Removes a subscriber; returns how many remain.</summary>
    public int Remove(FeedSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = Array.FindAll(_subscribers, other => other != subscriber);
            return _subscribers.Length;
        }
    }

    /// <summary>A commit touched the user (called on the store's commit thread: never blocks). Refreshes coalesce.</summary>
    public void OnCommitted()
    {
        if (Interlocked.Increment(ref _pendingRefreshes) == 1)
        {
            _ = Task.Run(RefreshAsync);
        }
    }

    /// <summary>
    /// The changes after <paramref name="after"/> (at most the read size): from the shared window when it covers that
    /// position and <paramref name="fromStore"/> is false, else from the store (a heartbeat-time read also catches
    /// commits of other server instances, which wake nobody here). A store read throws CHANGE_TOKEN_EXPIRED when
    /// retention purged past <paramref name="after"/> (changes the reader had yet to receive are gone); the window is
    /// contiguous, so a read from it never misses one.
    /// </summary>
    public async Task<FeedSlice> ReadAsync(long after, bool fromStore, CancellationToken ct)
    {
        if (!fromStore && TryRead(after) is { } shared)
        {
            return shared;
        }

        var page = await _store.ReadChangesAsync(UserId, after, _readSize, ct).ConfigureAwait(false);
        await FeedStart.EnsureRetainedAsync(_store, UserId, after, ct).ConfigureAwait(false);
        var entries = new FeedEntry[page.Changes.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = new FeedEntry(page.Changes[i], ChangeMapper.ToWire(page.Changes[i]));
        }

        return new FeedSlice(entries, page.HasMore);
    }

    private FeedSlice? TryRead(long after)
    {
        lock (_gate)
        {
            if (_floor < 0 || after < _floor)
            {
                return null;
            }

            var first = FirstAfter(after);
            var count = Math.Min(_readSize, _window.Count - first);
            if (count <= 0)
            {
                return new FeedSlice([], false);
            }

            return new FeedSlice(_window.GetRange(first, count), first + count < _window.Count);
        }
    }

    /// <summary>Index of the first window entry with a sequence above <paramref name="after"/> (the window is in sequence order).</summary>
    private int FirstAfter(long after)
    {
        int low = 0, high = _window.Count;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (_window[middle].Record.Sequence <= after)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private async Task RefreshAsync()
    {
        int seen;
        do
        {
            seen = Volatile.Read(ref _pendingRefreshes);
            try
            {
                await ReadNewChangesAsync().ConfigureAwait(false);
            }
            catch (Exception error) when (error is HealthStoreUnavailableException or ObjectDisposedException or OperationCanceledException)
            {
                // The window lost its place: subscribers read the store themselves until the next commit anchors it again.
                lock (_gate)
                {
                    (_floor, _head) = (-1, -1);
                    _window.Clear();
                }
            }

            foreach (var subscriber in Subscribers)
            {
                subscriber.Wake();
            }
        }
        while (Interlocked.Add(ref _pendingRefreshes, -seen) != 0);
    }

    private async Task ReadNewChangesAsync()
    {
        long head;
        lock (_gate)
        {
            head = _head;
        }

        if (head < 0)
        {
            var current = await _store.GetChangeSequenceAsync(UserId, CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                (_floor, _head) = (current, current);
            }

            return;
        }

        ChangePage page;
        do
        {
            page = await _store.ReadChangesAsync(UserId, head, _readSize, CancellationToken.None).ConfigureAwait(false);
            var entries = new List<FeedEntry>(page.Changes.Count);
            foreach (var change in page.Changes)
            {
                entries.Add(new FeedEntry(change, ChangeMapper.ToWire(change)));
            }

            lock (_gate)
            {
                _window.AddRange(entries);
                if (entries.Count > 0)
                {
                    head = _head = entries[^1].Record.Sequence;
                }

                if (_window.Count > _capacity)
                {
                    // The window keeps the newest changes; a subscriber behind its floor reads the store.
                    var dropped = _window.Count - _capacity;
                    _floor = _window[dropped - 1].Record.Sequence;
                    _window.RemoveRange(0, dropped);
                }
            }
        }
        while (page.HasMore);
    }
}
