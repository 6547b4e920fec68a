namespace HealthGrpc.Storage;

/// <summary>
/// Tells listeners, after a group of writes has committed durably, which users' change feeds moved. A hint only: it
/// carries no sequences, so a listener re-reads the feed after its own position (the store orders the changes, not
/// this event). It may name a user whose feed did not move (a spurious wake-up costs one read) but never misses one
/// that did. Raised on the store's commit thread before the group's callers complete: listeners must return at once and
/// must not throw.
/// </summary>
public sealed class ChangeNotifications
{
    private readonly Lock _gate = new();
    private Action<IReadOnlyCollection<string>>[] _listeners = [];

    /// <summary>Adds a listener; dispose the result to remove it.</summary>
    public IDisposable Listen(Action<IReadOnlyCollection<string>> onCommitted)
    {
        ArgumentNullException.ThrowIfNull(onCommitted);
        lock (_gate)
        {
            _listeners = [.. _listeners, onCommitted];
        }

        return new Registration(this, onCommitted);
    }

    /// <summary>Called by a store once per durably committed group, with the users whose feeds it touched (the collection is valid during the call only).</summary>
    public void Publish(IReadOnlyCollection<string> userIds)
    {
        if (userIds.Count == 0)
        {
            return;
        }

        foreach (var listener in Volatile.Read(ref _listeners))
        {
            listener(userIds);
        }
    }

    private void Remove(Action<IReadOnlyCollection<string>> onCommitted)
    {
        lock (_gate)
        {
            _listeners = Array.FindAll(_listeners, listener => listener != onCommitted);
        }
    }

    private sealed class Registration(ChangeNotifications owner, Action<IReadOnlyCollection<string>> onCommitted) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(onCommitted);
            }
        }
    }
}
