namespace HealthGrpc.Client;

/// <summary>
/// Supplies the key that encrypts the queued payloads at rest (AES-256-GCM): 32 bytes the app keeps outside the database,
/// in the platform's key store (iOS Keychain, Android Keystore-wrapped preferences, Windows DPAPI). The same key must
/// be returned every time for the same store: a store written with one key cannot be read with another.
/// </summary>
public interface IQueueKeyProvider
{
    /// <summary>The 32-byte key of the store at <paramref name="databasePath"/>.</summary>
    ValueTask<ReadOnlyMemory<byte>> GetKeyAsync(string databasePath, CancellationToken cancellationToken);
}

/// <summary>A fixed key (tests, or an app that fetched the key itself).</summary>
public sealed class StaticQueueKeyProvider : IQueueKeyProvider
{
    private readonly byte[] _key;

    /// <summary>Creates the provider with a 32-byte key.</summary>
    public StaticQueueKeyProvider(ReadOnlySpan<byte> key)
    {
        if (key.Length != PayloadCipher.KeyBytes)
        {
            throw new ArgumentException($"The queue key is {PayloadCipher.KeyBytes} bytes (AES-256); got {key.Length}.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> GetKeyAsync(string databasePath, CancellationToken cancellationToken) => ValueTask.FromResult<ReadOnlyMemory<byte>>(_key);
}
