using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Sharing;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// Runs Subscribe calls: catch up from the position, send <c>caught_up</c>, then deliver live changes. The subscriber
/// is registered with the hub BEFORE the catch-up read, and every wake-up reads the owner's feed after the last sequence
/// delivered (from the window the owner's subscribers share, or the store), so a commit is seen exactly once whether it
/// landed before, during or after the switch. Each message carries the token after it (filtered-out changes move it too).
/// A stream reading through grants checks them before every slice it delivers and at least every
/// <see cref="ChangeFeedOptions.GrantCheckInterval"/> while idle (a revocation by another process wakes nobody here), and
/// ends PERMISSION_DENIED once one was revoked or expired.
/// </summary>
internal sealed class ChangeSubscriptions(ChangeFeedHub hub, ReadAccessResolver access, ChangeFeedOptions options, TimeProvider time)
{
    public async Task RunAsync(FeedPosition start, FeedFilter filter, ReadAccess reader, Func<SubscribeResponse, Task> write, CancellationToken ct)
    {
        using var registration = hub.Register(start.UserId);
        var subscriber = registration.Subscriber;
        var stream = new SubscriptionStream(write, subscriber, options, time, ct);
        var feed = new Feed(registration.Feed, filter, reader);

        var position = await DeliverAsync(feed, start.AfterSequence, fromStore: true, subscriber, stream, ct).ConfigureAwait(false);
        await stream.WriteAsync(new SubscribeResponse { CaughtUp = new CaughtUp(), Token = ChangeToken.Format(feed.OwnerUserId, position) })
            .ConfigureAwait(false);
        while (true)
        {
            var wait = UntilNextLook(stream, reader);
            var woken = wait > TimeSpan.Zero && await subscriber.WaitAsync(wait, ct).ConfigureAwait(false);

            // Read the store on a timeout too: a commit made where no notification reaches this process (a SQLite file
            // written by another process, a lost PostgreSQL NOTIFY) still shows within the heartbeat interval.
            position = await DeliverAsync(feed, position, fromStore: !woken, subscriber, stream, ct).ConfigureAwait(false);
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
    private async Task<long> DeliverAsync(Feed feed, long after, bool fromStore, FeedSubscriber subscriber, SubscriptionStream stream, CancellationToken ct)
    {
        var position = after;
        FeedSlice slice;
        do
        {
            slice = await feed.Shared.ReadAsync(position, fromStore, ct).ConfigureAwait(false);
            // Checked after the slice is read, before it is written: a change committed after a revocation is read
            // after it, so the check sees the revocation and nothing of the slice reaches the stream.
            await access.CheckStillGrantedAsync(feed.Reader, ct).ConfigureAwait(false);
            subscriber.CountRead(slice.Entries.Count);
            foreach (var entry in slice.Entries)
            {
                position = entry.Record.Sequence;
                if (feed.Filter.Matches(entry.Record))
                {
                    await stream.WriteAsync(new SubscribeResponse { Change = entry.Wire, Token = ChangeToken.Format(feed.OwnerUserId, position) })
                        .ConfigureAwait(false);
                }
            }
        }
        while (slice.HasMore);

        return position;
    }

    /// <summary>One subscription's view: the owner's shared feed, what this reader may see of it, and through which access.</summary>
    private sealed record Feed(UserFeed Shared, FeedFilter Filter, ReadAccess Reader)
    {
        public string OwnerUserId => Shared.UserId;
    }
}
