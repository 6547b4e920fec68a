using System.Security.Cryptography;

namespace HealthGrpc.Client;

/// <summary>Shared arithmetic of the packed encoders: decimal scaling and the uuids of the parts of a split item.</summary>
internal static class PackedScale
{
    public static void CheckExponent(int decimalExponent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(decimalExponent, -9, nameof(decimalExponent));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(decimalExponent, 9, nameof(decimalExponent));
    }

    /// <summary><paramref name="value"/> as the integer v with v x 10^exponent nearest to it.</summary>
    public static long Scale(double value, int decimalExponent, int index)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"Point {index} is not a finite number ({value}).", nameof(value));
        }

        var scaled = Math.Round(value * Math.Pow(10, -decimalExponent), MidpointRounding.AwayFromZero);
        if (scaled is < long.MinValue or >= long.MaxValue)
        {
            throw new ArgumentException($"Point {index} ({value}) does not fit a 64-bit integer at decimal exponent {decimalExponent}.", nameof(value));
        }

        return (long)scaled;
    }

    public static double Unscale(long scaled, int decimalExponent) => scaled * Math.Pow(10, decimalExponent);

    /// <summary>
    /// The uuid of part <paramref name="part"/> of the item <paramref name="uuid"/>: the item's own uuid for part 0, else a
    /// version-8 uuid derived from both, so encoding the same recording twice yields the same uuids (and the server's
    /// deduplication still works).
    /// </summary>
    public static Guid PartUuid(Guid uuid, int part)
    {
        if (part == 0)
        {
            return uuid;
        }

        Span<byte> input = stackalloc byte[20];
        uuid.TryWriteBytes(input, bigEndian: true, out _);
        BitConverter.TryWriteBytes(input[16..], part);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(hash[..16], bigEndian: true);
    }
}
