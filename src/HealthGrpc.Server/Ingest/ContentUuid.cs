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
    public static Guid Derive(
        int type, string? vendorType, long startUnixMs, long endUnixMs, double? quantity, int? category, string unit,
        string sourceName, string manufacturer, string model, string appId)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[8];
        void AppendNumber(long value)
        {
            BinaryPrimitives.WriteInt64BigEndian(number, value);
            hash.AppendData(number);
        }

        void AppendText(string? text)
        {
            // Length-prefixed so ("ab","c") and ("a","bc") hash differently.
            var bytes = Encoding.UTF8.GetBytes(text ?? string.Empty);
            AppendNumber(bytes.Length);
            hash.AppendData(bytes);
        }

        AppendNumber(type);
        AppendText(vendorType);
        AppendNumber(startUnixMs);
        AppendNumber(endUnixMs);
        AppendNumber(quantity is { } q ? BitConverter.DoubleToInt64Bits(q) : long.MinValue);
        AppendNumber(category ?? long.MinValue);
        AppendText(unit);
        AppendText(sourceName);
        AppendText(manufacturer);
        AppendText(model);
        AppendText(appId);

        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        digest[6] = (byte)((digest[6] & 0x0F) | 0x80); // version 8: custom, name-based
        digest[8] = (byte)((digest[8] & 0x3F) | 0x80); // RFC variant
        return new Guid(digest[..16], bigEndian: true);
    }
}
