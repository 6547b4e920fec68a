namespace HealthGrpc.Storage;

/// <summary>One decoded point of a stored series: its instant and its value in the series' canonical unit.</summary>
internal readonly record struct SeriesValue(long UnixMs, double Value);

/// <summary>
/// Reads the points of a stored series payload (<see cref="SeriesRecord.Payload"/>: the protobuf <c>Series</c> bytes in
/// canonical units) straight from the protobuf wire format, because the store knows nothing about gRPC and has no
/// generated messages. Only the fields that place and value the points are read (decimal_exponent = 5, start_time = 7,
/// interval_ms = 9, time_deltas_ms = 10, value_deltas = 11); every other field is skipped. A point's value is
/// scaled × 10^decimal_exponent, the same arithmetic the server applies to a discrete sample's scaled value.
/// </summary>
internal static class SeriesPayload
{
    private const int VarintWire = 0, Fixed64Wire = 1, LengthWire = 2, Fixed32Wire = 5;

    /// <summary>Decodes the points of <paramref name="payload"/> into <paramref name="points"/> (cleared first), in time order.</summary>
    /// <exception cref="FormatException">The payload is not a well-formed series.</exception>
    public static void Read(ReadOnlySpan<byte> payload, List<SeriesValue> points)
    {
        points.Clear();
        var exponent = 0;
        long startMs = 0;
        ulong intervalMs = 0;
        var times = new List<long>();
        var values = new List<long>();
        var position = 0;
        while (position < payload.Length)
        {
            var tag = ReadVarint(payload, ref position);
            var (field, wire) = ((int)(tag >> 3), (int)(tag & 7));
            switch (field, wire)
            {
                case (5, VarintWire):
                    exponent = (int)Unzigzag(ReadVarint(payload, ref position));
                    break;
                case (7, LengthWire):
                    startMs = ReadTimestampMs(Delimited(payload, ref position));
                    break;
                case (9, VarintWire):
                    intervalMs = ReadVarint(payload, ref position);
                    break;
                case (10, LengthWire):
                    ReadPackedSint64(Delimited(payload, ref position), times);
                    break;
                case (10, VarintWire):
                    times.Add(Unzigzag(ReadVarint(payload, ref position)));
                    break;
                case (11, LengthWire):
                    ReadPackedSint64(Delimited(payload, ref position), values);
                    break;
                case (11, VarintWire):
                    values.Add(Unzigzag(ReadVarint(payload, ref position)));
                    break;
                default:
                    Skip(payload, ref position, field, wire);
                    break;
            }
        }

        if (times.Count != 0 && times.Count != values.Count)
        {
            throw new FormatException($"Stored series has {times.Count} time deltas for {values.Count} values.");
        }

        var scale = Math.Pow(10, exponent);
        long time = startMs, value = 0;
        points.EnsureCapacity(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            if (times.Count > 0)
            {
                time += times[i];
            }
            else if (i > 0)
            {
                time += (long)intervalMs;
            }

            value += values[i];
            points.Add(new SeriesValue(time, value * scale));
        }
    }

    private static long ReadTimestampMs(ReadOnlySpan<byte> timestamp)
    {
        long seconds = 0, nanos = 0;
        var position = 0;
        while (position < timestamp.Length)
        {
            var tag = ReadVarint(timestamp, ref position);
            var (field, wire) = ((int)(tag >> 3), (int)(tag & 7));
            switch (field, wire)
            {
                case (1, VarintWire):
                    seconds = (long)ReadVarint(timestamp, ref position);
                    break;
                case (2, VarintWire):
                    nanos = (int)ReadVarint(timestamp, ref position);
                    break;
                default:
                    Skip(timestamp, ref position, field, wire);
                    break;
            }
        }

        // Nanos are 0..999,999,999, so this floors like the contract's Timestamp-to-milliseconds conversion.
        return (seconds * 1000) + (nanos / 1_000_000);
    }

    private static void ReadPackedSint64(ReadOnlySpan<byte> packed, List<long> into)
    {
        var position = 0;
        while (position < packed.Length)
        {
            into.Add(Unzigzag(ReadVarint(packed, ref position)));
        }
    }

    private static ReadOnlySpan<byte> Delimited(ReadOnlySpan<byte> payload, ref int position)
    {
        var length = ReadVarint(payload, ref position);
        if (length > (ulong)(payload.Length - position))
        {
            throw new FormatException($"Stored series has a field of {length} bytes past its end.");
        }

        var field = payload.Slice(position, (int)length);
        position += (int)length;
        return field;
    }

    private static void Skip(ReadOnlySpan<byte> payload, ref int position, int field, int wire)
    {
        switch (wire)
        {
            case VarintWire:
                ReadVarint(payload, ref position);
                return;
            case LengthWire:
                Delimited(payload, ref position);
                return;
            case Fixed64Wire or Fixed32Wire:
                var width = wire == Fixed64Wire ? 8 : 4;
                if (width > payload.Length - position)
                {
                    throw new FormatException($"Stored series ends inside field {field}.");
                }

                position += width;
                return;
            default:
                throw new FormatException($"Stored series has field {field} of unknown wire type {wire}.");
        }
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> payload, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= payload.Length)
            {
                throw new FormatException("Stored series ends inside a varint.");
            }

            var b = payload[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new FormatException("Stored series has a varint longer than 10 bytes.");
    }

    private static long Unzigzag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
