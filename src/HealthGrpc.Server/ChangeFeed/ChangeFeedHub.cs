using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// The open Subscribe calls by user, woken by the store's commit notifications. The store raises them on its commit
/// thread, so <see cref="OnCommitted"/> only hands them to the user's <see cref="UserFeed"/>, which reads the new
/// changes once for all of the user's subscribers and then wakes them.
/// </summary>
internal sealed class ChangeFeedHub : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, UserFeed> _byUser = new(StringComparer.Ordinal);
    private readonly IHealthStore _store;
    private readonly ChangeFeedOptions _options;
    private readonly IDisposable _listening;

    public ChangeFeedHub(IHealthStore store, ChangeFeedOptions options)
    {
        (_store, _options) = (store, options);
        _listening = store.ChangeNotifications.Listen(OnCommitted);
    }

    /// <summary>Registers a subscriber; dispose the result when its call ends. Register BEFORE the catch-up read, so no commit falls between the two.</summary>
    public Registration Register(string userId)
    {
        var subscriber = new FeedSubscriber(userId);
        UserFeed feed;
        lock (_gate)
        {
            if (!_byUser.TryGetValue(userId, out feed!))
            {
                feed = new UserFeed(userId, _store, _options);
                _byUser[userId] = feed;
            }

            feed.Add(subscriber);
        }

        return new Registration(this, feed, subscriber);
    }

    /// <summary>The open subscriptions (operators' diagnostics and the tests' view of what each one holds).</summary>
    public IReadOnlyList<FeedSubscriber> Snapshot()
    {
        lock (_gate)
        {
            return _byUser.Values.SelectMany(feed => feed.Subscribers).ToArray();
        }
    }

    public void Dispose() => _listening.Dispose();

    /// <summary>Wakes the subscriptions of one user's feed (a grant of it was revoked: they check it at once).</summary>
    public void Wake(string userId) => OnCommitted([userId]);

    private void OnCommitted(IReadOnlyCollection<string> userIds)
    {
        foreach (var userId in userIds)
        {
            UserFeed? feed;
            lock (_gate)
            {
                _byUser.TryGetValue(userId, out feed);
            }

            feed?.OnCommitted();
        }
    }

    private void Remove(UserFeed feed, FeedSubscriber subscriber)
    {
        lock (_gate)
        {
            if (feed.Remove(subscriber) == 0 && _byUser.TryGetValue(feed.UserId, out var current) && current == feed)
            {
                _byUser.Remove(feed.UserId);
            }
        }
    }

    internal sealed class Registration(ChangeFeedHub hub, UserFeed feed, FeedSubscriber subscriber) : IDisposable
    {
        public FeedSubscriber Subscriber { get; } = subscriber;

        /// <summary>The user's shared feed the subscription reads from.</summary>
        public UserFeed Feed { get; } = feed;

        public void Dispose() => hub.Remove(Feed, Subscriber);
    }
}
