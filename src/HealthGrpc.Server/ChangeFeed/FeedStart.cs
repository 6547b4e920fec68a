using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>Whose feed a call reads and the sequence it reads after.</summary>
internal readonly record struct FeedPosition(string UserId, long AfterSequence);

/// <summary>
/// Checks a feed request's token against the owner's feed (whose access the caller already has): the position to
/// read after, or the refusal (a token this server did not issue, one of another user's feed, one ahead of the feed,
/// one below the retained floor).
/// </summary>
internal static class FeedStart
{
    public static async Task<FeedPosition> ResolveAsync(IHealthStore store, string ownerUserId, string sinceToken, CancellationToken ct)
    {
        var floor = await store.GetChangeFloorAsync(ownerUserId, ct).ConfigureAwait(false);
        if (sinceToken.Length == 0)
        {
            return new FeedPosition(ownerUserId, floor);
        }

        switch (ChangeToken.TryParse(sinceToken, ownerUserId, out var sequence))
        {
            case ChangeTokenParse.Malformed:
                throw new SyncRejectedException(
                    ErrorReason.ChangeTokenInvalid,
                    "since_token is not a change token this server issued; pass a token from a previous page, message or ack, or an empty one to read from the start.");
            case ChangeTokenParse.OtherFeed:
                throw new SyncRejectedException(
                    ErrorReason.ChangeTokenInvalid,
                    "since_token was issued for another user's change feed; pass a token of this feed, or an empty one to read from the start.");
        }

        if (sequence < floor)
        {
            throw Expired("since_token", floor);
        }

        var current = await store.GetChangeSequenceAsync(ownerUserId, ct).ConfigureAwait(false);
        if (sequence > current)
        {
            throw new SyncRejectedException(
                ErrorReason.ChangeTokenInvalid,
                $"since_token is ahead of this change feed (sequence {sequence}, the feed is at {current}): it was not issued for this feed.");
        }

        return new FeedPosition(ownerUserId, sequence);
    }

    /// <summary>
    /// Throws CHANGE_TOKEN_EXPIRED when retention purged the feed past <paramref name="after"/>. Called AFTER a store read
    /// of the changes following it: the floor only rises, so a floor still at or below the position then means the read
    /// missed nothing; above it, the read may have (an open Subscribe ends instead of silently skipping changes).
    /// </summary>
    public static async Task EnsureRetainedAsync(IHealthStore store, string ownerUserId, long after, CancellationToken ct)
    {
        var floor = await store.GetChangeFloorAsync(ownerUserId, ct).ConfigureAwait(false);
        if (after < floor)
        {
            throw Expired("the subscription's position", floor);
        }
    }

    private static SyncRejectedException Expired(string what, long floor) => new(
        ErrorReason.ChangeTokenExpired,
        $"{what} is older than the retained change feed (it starts after sequence {floor}): re-read the feed from the start with an empty since_token.");
}
