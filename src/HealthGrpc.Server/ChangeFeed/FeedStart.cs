using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>Whose feed a call reads and the sequence it reads after.</summary>
internal readonly record struct FeedPosition(string UserId, long AfterSequence);

/// <summary>
/// Checks a feed request's owner and token against the store: the position to read after, or the refusal (no grant,
/// a token this server did not issue, one ahead of the feed, one below the retained floor).
/// </summary>
internal static class FeedStart
{
    public static async Task<FeedPosition> ResolveAsync(IHealthStore store, string callerId, string ownerUserId, string sinceToken, CancellationToken ct)
    {
        // Sharing grants do not exist yet: another user's feed is refused the same way whether that user exists or not.
        if (ownerUserId.Length > 0 && !string.Equals(ownerUserId, callerId, StringComparison.Ordinal))
        {
            throw new SyncRejectedException(ErrorReason.NoGrant, "no active grant lets you read owner_user_id's change feed.");
        }

        var floor = await store.GetChangeFloorAsync(callerId, ct).ConfigureAwait(false);
        if (sinceToken.Length == 0)
        {
            return new FeedPosition(callerId, floor);
        }

        if (!ChangeToken.TryParse(sinceToken, out var sequence))
        {
            throw new SyncRejectedException(
                ErrorReason.ChangeTokenInvalid,
                "since_token is not a change token this server issued; pass a token from a previous page, message or ack, or an empty one to read from the start.");
        }

        if (sequence < floor)
        {
            throw new SyncRejectedException(
                ErrorReason.ChangeTokenExpired,
                $"since_token is older than the retained change feed (it starts after sequence {floor}): re-read the feed from the start with an empty since_token.");
        }

        var current = await store.GetChangeSequenceAsync(callerId, ct).ConfigureAwait(false);
        if (sequence > current)
        {
            throw new SyncRejectedException(
                ErrorReason.ChangeTokenInvalid,
                $"since_token is ahead of your change feed (sequence {sequence}, the feed is at {current}): it was not issued for this user.");
        }

        return new FeedPosition(callerId, sequence);
    }
}
