using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// Runs Subscribe calls: catch up from the position, send <c>caught_up</c>, then deliver live changes. The subscriber
/// is registered with the hub BEFORE the catch-up read, and every wake-up re-reads the store after the last sequence
/// delivered, so a commit is seen exactly once whether it landed before, during or after the switch. Each message
/// carries the token after it (filtered-out changes move it too).
/// </summary>
internal sealed class ChangeSubscriptions(IHealthStore store, ChangeFeedHub hub, ChangeFeedOptions options, TimeProvider time)
{
    public async Task RunAsync(FeedPosition start, FeedFilter filter, Func<SubscribeResponse, Task> write, CancellationToken ct)
    {
        using var registration = hub.Register(start.UserId);
        var subscriber = registration.Subscriber;
        var stream = new SubscriptionStream(write, subscriber, options, time, ct);

        var position = await DeliverAsync(start.UserId, start.AfterSequence, filter, subscriber, stream, ct).ConfigureAwait(false);
        await stream.WriteAsync(new SubscribeResponse { CaughtUp = new CaughtUp(), Token = ChangeToken.Format(position) }).ConfigureAwait(false);
        while (true)
        {
            var untilHeartbeat = options.HeartbeatInterval - stream.Idle;
            if (untilHeartbeat > TimeSpan.Zero)
            {
                await subscriber.WaitAsync(untilHeartbeat, ct).ConfigureAwait(false);
            }

            // Read on a timeout too: a commit by another server instance on the same database wakes nobody here.
            position = await DeliverAsync(start.UserId, position, filter, subscriber, stream, ct).ConfigureAwait(false);
            if (stream.Idle >= options.HeartbeatInterval)
            {
                await stream.WriteAsync(new SubscribeResponse { Heartbeat = new Heartbeat(), Token = ChangeToken.Format(position) }).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes every committed change after <paramref name="after"/>, a bounded slice at a time; returns the new position.</summary>
    private async Task<long> DeliverAsync(string userId, long after, FeedFilter filter, FeedSubscriber subscriber, SubscriptionStream stream, CancellationToken ct)
    {
        var readSize = Math.Max(1, options.SubscribeReadSize);
        var position = after;
        ChangePage page;
        do
        {
            page = await store.ReadChangesAsync(userId, position, readSize, ct).ConfigureAwait(false);
            subscriber.CountRead(page.Changes.Count);
            foreach (var change in page.Changes)
            {
                position = change.Sequence;
                if (filter.Matches(change))
                {
                    await stream.WriteAsync(new SubscribeResponse { Change = ChangeMapper.ToWire(change), Token = ChangeToken.Format(position) })
                        .ConfigureAwait(false);
                }
            }
        }
        while (page.HasMore);

        return position;
    }
}
