using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// The times the server accepts, checked without <see cref="Timestamp.ToDateTimeOffset"/> (which throws) and without
/// arithmetic that can wrap:
/// <list type="bullet">
/// <item>a <see cref="Timestamp"/> on the wire must be valid: 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z with
/// nanos in 0..999,999,999 (a time origin such as <c>SampleSet.base_time</c> may lie anywhere in that span);</item>
/// <item>every time the server stores (a sample's or series point's start and end, a waveform's start, a deletion time,
/// a record's modified time) lies in <see cref="Earliest"/> (1970-01-01T00:00:00Z) .. the server's clock +
/// <see cref="IngestLimits.MaxFutureSkew"/> (10 minutes by default).</item>
/// </list>
/// Anything else is an item problem (<see cref="RejectReason.TimeOutOfRange"/>, or <see cref="RejectReason.StartInFuture"/>
/// for a start after the allowed skew) whose message names the field.
/// </summary>
internal static class TimeRange
{
    /// <summary>1970-01-01T00:00:00Z: the earliest time stored, in Unix milliseconds.</summary>
    public const long Earliest = 0;

    private const long MinSeconds = -62_135_596_800; // 0001-01-01T00:00:00Z
    private const long MaxSeconds = 253_402_300_799; // 9999-12-31T23:59:59Z

    /// <summary>
    /// A wire timestamp as Unix milliseconds (nanos truncated toward earlier time), or the problem with it. Any valid
    /// timestamp converts: the result is within ±2^48 ms, so adding a validated offset cannot wrap.
    /// </summary>
    public static Problem? ToUnixMs(Timestamp timestamp, FieldPath field, out long unixMs)
    {
        unixMs = 0;
        if (timestamp.Nanos is < 0 or > 999_999_999)
        {
            return new Problem(RejectReason.TimeOutOfRange, $"{field} has nanos {timestamp.Nanos}; they must be 0..999999999.");
        }

        if (timestamp.Seconds is < MinSeconds or > MaxSeconds)
        {
            return new Problem(RejectReason.TimeOutOfRange,
                $"{field} has seconds {timestamp.Seconds}, outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z.");
        }

        unixMs = (timestamp.Seconds * 1000) + (timestamp.Nanos / 1_000_000);
        return null;
    }

    /// <summary>A wire timestamp the server stores as is: valid and within <see cref="Earliest"/>..<paramref name="latestMs"/>.</summary>
    public static Problem? ToStoredUnixMs(Timestamp timestamp, FieldPath field, long latestMs, out long unixMs) =>
        ToUnixMs(timestamp, field, out unixMs) ?? CheckStored(unixMs, field, latestMs);

    /// <summary>Whether a computed time may be stored: within <see cref="Earliest"/>..<paramref name="latestMs"/>.</summary>
    public static Problem? CheckStored(long unixMs, FieldPath field, long latestMs) =>
        unixMs < Earliest || unixMs > latestMs
            ? new Problem(RejectReason.TimeOutOfRange,
                $"{field} {Describe(unixMs)} is outside the accepted range 1970-01-01T00:00:00Z..{Describe(latestMs)} (server clock + skew).")
            : null;

    /// <summary><paramref name="baseMs"/> + <paramref name="offsetMs"/>, or null when the sum does not fit.</summary>
    public static long? Add(long baseMs, long offsetMs)
    {
        var sum = unchecked(baseMs + offsetMs);
        // Overflow iff both operands have the same sign and the sum's sign differs.
        return ((baseMs ^ sum) & (offsetMs ^ sum)) < 0 ? null : sum;
    }

    /// <summary>An instant in ISO 8601 when representable, the raw milliseconds otherwise.</summary>
    public static string Describe(long unixMs) =>
        unixMs is >= MinSeconds * 1000 and <= (MaxSeconds * 1000) + 999
            ? DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToString("O", System.Globalization.CultureInfo.InvariantCulture)
            : $"{unixMs} ms after 1970-01-01";
}
