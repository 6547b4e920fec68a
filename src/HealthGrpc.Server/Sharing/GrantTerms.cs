using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Query;

namespace HealthGrpc.Server.Sharing;

/// <summary>
/// A CreateGrant request, validated (SharingService and `healthgrpc grant create` both build one): at least one known
/// type, a grantee user or a share code (not both), a data range whose end follows its start, an expiry in the future.
/// Each failure is a <see cref="QueryRejectedException"/> naming the field as sharing.proto does.
/// </summary>
internal sealed record GrantTerms(
    string? GranteeUserId,
    IReadOnlyList<int> Types,
    DateTimeOffset? DataStart,
    DateTimeOffset? DataEnd,
    DateTimeOffset ExpiresAt)
{
    /// <summary>A grant read with a share code rather than by a user.</summary>
    public bool IsShareCode => GranteeUserId is null;

    /// <exception cref="QueryRejectedException">A field is missing or wrong.</exception>
    /// <exception cref="GrantDeniedException">The owner grants to themselves.</exception>
    public static GrantTerms From(CreateGrantRequest request, string ownerUserId, DateTimeOffset now)
    {
        string? grantee = request.GranteeUserId;
        if (request.CreateShareCode)
        {
            if (grantee.Length > 0)
            {
                throw QueryRejectedException.Invalid("grantee_user_id", "must be empty with create_share_code (a share code is for someone without an account).");
            }

            grantee = null;
        }
        else if (grantee.Length == 0)
        {
            throw QueryRejectedException.Invalid("grantee_user_id", "is required (or set create_share_code to share with someone without an account).");
        }
        else if (string.Equals(grantee, ownerUserId, StringComparison.Ordinal))
        {
            throw new GrantDeniedException("grantee_user_id is you: your own data needs no grant.");
        }

        if (request.Types_.Count == 0)
        {
            throw QueryRejectedException.Invalid("types", "must name at least one data type.");
        }

        var types = new SortedSet<int>();
        for (var i = 0; i < request.Types_.Count; i++)
        {
            types.Add((int)QueryFields.Type(request.Types_[i], $"types[{i}]"));
        }

        var start = Optional(request.DataStartTime, "data_start_time");
        var end = Optional(request.DataEndTime, "data_end_time");
        if (start is not null && end is not null && end <= start)
        {
            throw QueryRejectedException.Invalid("data_end_time", "must be after data_start_time.");
        }

        var expires = Optional(request.ExpireTime, "expire_time")
            ?? throw QueryRejectedException.Invalid("expire_time", "is required (grants always expire).");
        if (expires <= now)
        {
            throw QueryRejectedException.Invalid("expire_time", "must be in the future.");
        }

        return new GrantTerms(grantee, types.ToArray(), start, end, expires);
    }

    private static DateTimeOffset? Optional(Timestamp? timestamp, string field)
    {
        if (timestamp is null)
        {
            return null;
        }

        if (timestamp.Nanos is < 0 or > 999_999_999)
        {
            throw QueryRejectedException.Invalid(field, $"has nanos {timestamp.Nanos}; they must be 0..999999999.");
        }

        if (timestamp.Seconds < QueryFields.EarliestUnixMs / 1000 || timestamp.Seconds > QueryFields.LatestUnixMs / 1000)
        {
            throw QueryRejectedException.Invalid(field, "must lie in 1900-01-01T00:00:00Z..2200-01-01T00:00:00Z.");
        }

        return DateTimeOffset.FromUnixTimeMilliseconds((timestamp.Seconds * 1000) + (timestamp.Nanos / 1_000_000));
    }
}
