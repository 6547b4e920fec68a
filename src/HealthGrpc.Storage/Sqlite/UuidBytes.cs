namespace HealthGrpc.Storage.Sqlite;

/// <summary>Guid to and from the 16-byte RFC 9562 (big-endian) form the store persists.</summary>
internal static class UuidBytes
{
    public static void Write(Guid uuid, byte[] destination) => uuid.TryWriteBytes(destination, bigEndian: true, out _);

    public static Guid Read(byte[] bytes) => new(bytes, bigEndian: true);
}
