using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// The open Subscribe calls by user, woken by the store's commit notifications. The store raises them on its commit
/// thread, so <see cref="OnCommitted"/> only flags subscribers; each subscription then reads the store itself.
/// </summary>
internal sealed class ChangeFeedHub : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, FeedSubscriber[]> _byUser = new(StringComparer.Ordinal);
    private readonly IDisposable _listening;

    public ChangeFeedHub(IHealthStore store) => _listening = store.ChangeNotifications.Listen(OnCommitted);

    /// <summary>Registers a subscriber; dispose the result when its call ends. Register BEFORE the catch-up read, so no commit falls between the two.</summary>
    public Registration Register(string userId)
    {
        var subscriber = new FeedSubscriber(userId);
        lock (_gate)
        {
            _byUser[userId] = _byUser.TryGetValue(userId, out var current) ? [.. current, subscriber] : [subscriber];
        }

        return new Registration(this, subscriber);
    }

    /// <summary>The open subscriptions (operators' diagnostics and the tests' view of what each one holds).</summary>
    public IReadOnlyList<FeedSubscriber> Snapshot()
    {
        lock (_gate)
        {
            return _byUser.Values.SelectMany(subscribers => subscribers).ToArray();
        }
    }

    public void Dispose() => _listening.Dispose();

    /// <summary>Wakes the subscriptions of one user's feed (a grant of it was revoked: they check it at once).</summary>
    public void Wake(string userId) => OnCommitted([userId]);

    private void OnCommitted(IReadOnlyCollection<string> userIds)
    {
        foreach (var userId in userIds)
        {
            FeedSubscriber[]? subscribers;
            lock (_gate)
            {
                _byUser.TryGetValue(userId, out subscribers);
            }

            if (subscribers is null)
            {
                continue;
            }

            foreach (var subscriber in subscribers)
            {
                subscriber.Wake();
            }
        }
    }

    private void Remove(FeedSubscriber subscriber)
    {
        lock (_gate)
        {
            if (!_byUser.TryGetValue(subscriber.UserId, out var current))
            {
                return;
            }

            var remaining = Array.FindAll(current, other => other != subscriber);
            if (remaining.Length == 0)
            {
                _byUser.Remove(subscriber.UserId);
            }
            else
            {
                _byUser[subscriber.UserId] = remaining;
            }
        }
    }

    internal sealed class Registration(ChangeFeedHub hub, FeedSubscriber subscriber) : IDisposable
    {
        public FeedSubscriber Subscriber { get; } = subscriber;

        public void Dispose() => hub.Remove(Subscriber);
    }
}
