using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// Runs Subscribe calls: catch up from the position, send <c>caught_up</c>, then deliver live changes. The subscriber
/// is registered with the hub BEFORE the catch-up read, and every wake-up re-reads the store after the last sequence
/// delivered, so a commit is seen exactly once whether it landed before, during or after the switch. Each message
/// carries the token after it (filtered-out changes move it too). A stream reading through grants checks them before
/// every slice it delivers and at least every <see cref="ChangeFeedOptions.GrantCheckInterval"/> while idle (a
/// revocation by another process wakes nobody here), and ends PERMISSION_DENIED once one was revoked or expired.
/// </summary>
internal sealed class ChangeSubscriptions(IHealthStore store, ChangeFeedHub hub, ReadAccessResolver access, ChangeFeedOptions options, TimeProvider time)
{
    public async Task RunAsync(FeedPosition start, FeedFilter filter, ReadAccess reader, Func<SubscribeResponse, Task> write, CancellationToken ct)
    {
        using var registration = hub.Register(start.UserId);
        var subscriber = registration.Subscriber;
        var stream = new SubscriptionStream(write, subscriber, options, time, ct);
        var feed = new Feed(start.UserId, filter, reader);

        var position = await DeliverAsync(feed, start.AfterSequence, subscriber, stream, ct).ConfigureAwait(false);
        await stream.WriteAsync(new SubscribeResponse { CaughtUp = new CaughtUp(), Token = ChangeToken.Format(feed.OwnerUserId, position) }).ConfigureAwait(false);
        while (true)
        {
            var wait = UntilNextLook(stream, reader);
            if (wait > TimeSpan.Zero)
            {
                await subscriber.WaitAsync(wait, ct).ConfigureAwait(false);
            }

            // Read on a timeout too: a commit by another server instance on the same database wakes nobody here.
            position = await DeliverAsync(feed, position, subscriber, stream, ct).ConfigureAwait(false);
            if (stream.Idle >= options.HeartbeatInterval)
            {
                await stream.WriteAsync(new SubscribeResponse { Heartbeat = new Heartbeat(), Token = ChangeToken.Format(feed.OwnerUserId, position) })
                    .ConfigureAwait(false);
            }
        }
    }

    /// <summary>Until the next heartbeat is due, or (through grants) the next grant check or the grants' expiry.</summary>
    private TimeSpan UntilNextLook(SubscriptionStream stream, ReadAccess reader)
    {
        var wait = options.HeartbeatInterval - stream.Idle;
        if (reader.Scope is { } scope)
        {
            var untilExpiry = scope.ExpiresAt - time.GetUtcNow();
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks, Math.Min(options.GrantCheckInterval.Ticks, untilExpiry.Ticks)));
        }

        return wait;
    }

    /// <summary>Writes every committed change after <paramref name="after"/>, a bounded slice at a time; returns the new position.</summary>
    private async Task<long> DeliverAsync(Feed feed, long after, FeedSubscriber subscriber, SubscriptionStream stream, CancellationToken ct)
    {
        var readSize = Math.Max(1, options.SubscribeReadSize);
        var position = after;
        ChangePage page;
        do
        {
            page = await store.ReadChangesAsync(feed.OwnerUserId, position, readSize, ct).ConfigureAwait(false);
            // Checked after the slice is read, before it is written: a change committed after a revocation is read
            // after it, so the check sees the revocation and nothing of the slice reaches the stream.
            await access.CheckStillGrantedAsync(feed.Reader, ct).ConfigureAwait(false);
            subscriber.CountRead(page.Changes.Count);
            foreach (var change in page.Changes)
            {
                position = change.Sequence;
                if (feed.Filter.Matches(change))
                {
                    await stream.WriteAsync(new SubscribeResponse { Change = ChangeMapper.ToWire(change), Token = ChangeToken.Format(feed.OwnerUserId, position) })
                        .ConfigureAwait(false);
                }
            }
        }
        while (page.HasMore);

        return position;
    }

    private sealed record Feed(string OwnerUserId, FeedFilter Filter, ReadAccess Reader);
}
