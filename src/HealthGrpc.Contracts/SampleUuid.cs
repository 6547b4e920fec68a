using Google.Protobuf;

namespace HealthGrpc.Contracts;

/// <summary>Converts between <see cref="Guid"/> and the 16-byte big-endian (RFC 9562 byte order) uuid on the wire.</summary>
public static class SampleUuid
{
    /// <summary>Byte length of a wire uuid.</summary>
    public const int Length = 16;

    /// <summary>The wire form of <paramref name="uuid"/>.</summary>
    public static ByteString ToByteString(Guid uuid)
    {
        Span<byte> bytes = stackalloc byte[Length];
        uuid.TryWriteBytes(bytes, bigEndian: true, out _);
        return ByteString.CopyFrom(bytes);
    }

    /// <summary>Reads a wire uuid.</summary>
    /// <exception cref="FormatException">The bytes are not exactly 16 long.</exception>
    public static Guid ToGuid(ByteString bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return bytes.Length == Length
            ? new Guid(bytes.Span, bigEndian: true)
            : throw new FormatException($"A uuid is {Length} bytes; got {bytes.Length}.");
    }
}
