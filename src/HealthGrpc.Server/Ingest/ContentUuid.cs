using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// The deterministic id of a sample sent without a uuid: SHA-256 over its identity (type, times, canonical
/// value, unit, source), truncated to 16 bytes and stamped as an RFC 9562 version-8 uuid. The same reading
/// re-sent a day later maps to the same id, so per-sample dedup catches it.
/// </summary>
internal static class ContentUuid
{
    // Six numbers, six length-prefixed strings: fits the stack for any sample that passed validation.
    private const int StackLimit = 1024;

    public static Guid Derive(
        int type, string? vendorType, long startUnixMs, long endUnixMs, double? quantity, int? category, string unit,
        string sourceName, string manufacturer, string model, string appId)
    {
        var size = (6 * sizeof(long)) + Encoded(vendorType) + Encoded(unit) + Encoded(sourceName) + Encoded(manufacturer)
            + Encoded(model) + Encoded(appId);
        byte[]? rented = null;
        var buffer = size <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(size));
        try
        {
            var written = 0;
            Number(buffer, ref written, type);
            Text(buffer, ref written, vendorType);
            Number(buffer, ref written, startUnixMs);
            Number(buffer, ref written, endUnixMs);
            Number(buffer, ref written, quantity is { } q ? BitConverter.DoubleToInt64Bits(q) : long.MinValue);
            Number(buffer, ref written, category ?? long.MinValue);
            Text(buffer, ref written, unit);
            Text(buffer, ref written, sourceName);
            Text(buffer, ref written, manufacturer);
            Text(buffer, ref written, model);
            Text(buffer, ref written, appId);

            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..written], digest);
            digest[6] = (byte)((digest[6] & 0x0F) | 0x80); // version 8: custom, name-based
            digest[8] = (byte)((digest[8] & 0x3F) | 0x80); // RFC variant
            return new Guid(digest[..16], bigEndian: true);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int Encoded(string? text) => sizeof(long) + Encoding.UTF8.GetByteCount(text ?? string.Empty);

    private static void Number(Span<byte> buffer, ref int written, long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(buffer[written..], value);
        written += sizeof(long);
    }

    /// <summary>Length-prefixed, so ("ab","c") and ("a","bc") hash differently.</summary>
    private static void Text(Span<byte> buffer, ref int written, string? text)
    {
        var length = Encoding.UTF8.GetBytes(text ?? string.Empty, buffer[(written + sizeof(long))..]);
        Number(buffer, ref written, length);
        written += length;
    }
}
