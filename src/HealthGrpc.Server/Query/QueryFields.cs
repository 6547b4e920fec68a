using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Query;

/// <summary>Checks of the request fields the query RPCs share; each failure names its field.</summary>
internal static class QueryFields
{
    /// <summary>1900-01-01T00:00:00Z: the earliest range bound a query accepts.</summary>
    public const long EarliestUnixMs = -2_208_988_800_000;

    /// <summary>2200-01-01T00:00:00Z: the latest range bound a query accepts.</summary>
    public const long LatestUnixMs = 7_258_118_400_000;

    /// <summary>The required time range [start, end) as Unix milliseconds (nanos truncated).</summary>
    public static (long From, long To) Range(Timestamp? start, Timestamp? end)
    {
        var from = Instant(start, "start_time");
        var to = Instant(end, "end_time");
        if (to <= from)
        {
            throw QueryRejectedException.Invalid("end_time", "must be after start_time.");
        }

        return (from, to);
    }

    /// <summary>A required instant as Unix milliseconds (nanos truncated), named <paramref name="field"/> in errors.</summary>
    public static long RequiredInstant(Timestamp? timestamp, string field) => Instant(timestamp, field);

    private static long Instant(Timestamp? timestamp, string field)
    {
        if (timestamp is null)
        {
            throw QueryRejectedException.Invalid(field, "is required.");
        }

        if (timestamp.Nanos is < 0 or > 999_999_999)
        {
            throw QueryRejectedException.Invalid(field, $"has nanos {timestamp.Nanos}; they must be 0..999999999.");
        }

        if (timestamp.Seconds < EarliestUnixMs / 1000 || timestamp.Seconds > LatestUnixMs / 1000)
        {
            throw QueryRejectedException.Invalid(field, "must lie in 1900-01-01T00:00:00Z..2200-01-01T00:00:00Z.");
        }

        return (timestamp.Seconds * 1000) + (timestamp.Nanos / 1_000_000);
    }

    /// <summary>A data type named in the contract (not UNSPECIFIED).</summary>
    public static DataType Type(DataType type, string field) =>
        type != DataType.Unspecified && System.Enum.IsDefined(type)
            ? type
            : throw QueryRejectedException.Invalid(field, $"is {(int)type}, not a known data type.");

    /// <summary>A device kind of source.proto (UNSPECIFIED included: it is a kind sources report).</summary>
    public static DeviceKind Kind(DeviceKind kind, string field) =>
        System.Enum.IsDefined(kind) ? kind : throw QueryRejectedException.Invalid(field, $"is {(int)kind}, not a known device kind.");
}
