using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Sharing;

/// <summary>Grants and audit entries as the wire messages of sharing.proto.</summary>
internal static class GrantWire
{
    public static Grant ToWire(GrantRecord grant)
    {
        var wire = new Grant
        {
            GrantId = grant.GrantId,
            OwnerUserId = grant.OwnerUserId,
            GranteeUserId = grant.GranteeUserId ?? "",
            ShareCode = grant.IsShareCode,
            DataStartTime = Time(grant.DataStart),
            DataEndTime = Time(grant.DataEnd),
            ExpireTime = Timestamp.FromDateTimeOffset(grant.ExpiresAt),
            CreateTime = Timestamp.FromDateTimeOffset(grant.CreatedAt),
            RevokeTime = Time(grant.RevokedAt),
        };
        wire.Types_.AddRange(grant.Types.Select(type => (DataType)type));
        return wire;
    }

    public static AccessEvent ToWire(GrantAccessRecord access)
    {
        var wire = new AccessEvent
        {
            GrantId = access.GrantId,
            ReaderUserId = access.ReaderUserId ?? "",
            Method = access.Method,
            DataStartTime = Time(access.DataStart),
            DataEndTime = Time(access.DataEnd),
            AccessTime = Timestamp.FromDateTimeOffset(access.At),
        };
        wire.Types_.AddRange(access.Types.Select(type => (DataType)type));
        return wire;
    }

    private static Timestamp? Time(DateTimeOffset? time) => time is { } at ? Timestamp.FromDateTimeOffset(at) : null;
}
