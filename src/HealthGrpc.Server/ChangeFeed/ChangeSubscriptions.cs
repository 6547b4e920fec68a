using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// Runs Subscribe calls: catch up from the position, send <c>caught_up</c>, then deliver live changes. The subscriber
/// is registered with the hub BEFORE the catch-up read, and every wake-up reads the user's feed after the last sequence
/// delivered (from the window the user's subscribers share, or the store), so a commit is seen exactly once whether it
/// landed before, during or after the switch. Each message carries the token after it (filtered-out changes move it too).
/// </summary>
internal sealed class ChangeSubscriptions(ChangeFeedHub hub, ChangeFeedOptions options, TimeProvider time)
{
    public async Task RunAsync(FeedPosition start, FeedFilter filter, Func<SubscribeResponse, Task> write, CancellationToken ct)
    {
        using var registration = hub.Register(start.UserId);
        var subscriber = registration.Subscriber;
        var stream = new SubscriptionStream(write, subscriber, options, time, ct);

        var position = await DeliverAsync(registration.Feed, start.AfterSequence, fromStore: true, filter, subscriber, stream, ct).ConfigureAwait(false);
        await stream.WriteAsync(new SubscribeResponse { CaughtUp = new CaughtUp(), Token = ChangeToken.Format(position) }).ConfigureAwait(false);
        while (true)
        {
            var untilHeartbeat = options.HeartbeatInterval - stream.Idle;
            var woken = untilHeartbeat > TimeSpan.Zero && await subscriber.WaitAsync(untilHeartbeat, ct).ConfigureAwait(false);

            // Read the store on a timeout: a commit by another server instance on the same database wakes nobody here.
            position = await DeliverAsync(registration.Feed, position, fromStore: !woken, filter, subscriber, stream, ct).ConfigureAwait(false);
            if (stream.Idle >= options.HeartbeatInterval)
            {
                await stream.WriteAsync(new SubscribeResponse { Heartbeat = new Heartbeat(), Token = ChangeToken.Format(position) }).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes every committed change after <paramref name="after"/>, a bounded slice at a time; returns the new position.</summary>
    private static async Task<long> DeliverAsync(
        UserFeed feed, long after, bool fromStore, FeedFilter filter, FeedSubscriber subscriber, SubscriptionStream stream, CancellationToken ct)
    {
        var position = after;
        FeedSlice slice;
        do
        {
            slice = await feed.ReadAsync(position, fromStore, ct).ConfigureAwait(false);
            subscriber.CountRead(slice.Entries.Count);
            foreach (var entry in slice.Entries)
            {
                position = entry.Record.Sequence;
                if (filter.Matches(entry.Record))
                {
                    await stream.WriteAsync(new SubscribeResponse { Change = entry.Wire, Token = ChangeToken.Format(position) }).ConfigureAwait(false);
                }
            }
        }
        while (slice.HasMore);

        return position;
    }
}
