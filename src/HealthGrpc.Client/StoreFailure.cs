using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>Which failures of the local store the public surface reports as <see cref="LocalStoreException"/>.</summary>
internal static class StoreFailure
{
    public static bool Is(Exception e) =>
        e is SqliteException or IOException or UnauthorizedAccessException or InvalidProtocolBufferException or CryptographicException;

    public static LocalStoreException Wrap(Exception e, string path) =>
        new($"The local sync store '{path}' failed: {e.Message}", e) { DatabasePath = path };
}
