using System.Security.Cryptography;

namespace HealthGrpc.Client;

/// <summary>
/// Seals the queued payloads (the health data) with AES-256-GCM: each blob is its own 12-byte random nonce, the 16-byte
/// tag and the ciphertext. Without a key it passes blobs through. Used under the store lock only (AesGcm is not thread-safe).
/// </summary>
internal sealed class PayloadCipher : IDisposable
{
    public const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    /// <summary>What every sealed blob is bound to, so a blob from another kind of column or format does not open.</summary>
    private static readonly byte[] Context = "healthgrpc-client-queue-v1"u8.ToArray();

    private readonly AesGcm? _aes;

    private PayloadCipher(AesGcm? aes) => _aes = aes;

    public static PayloadCipher None { get; } = new(null);

    public bool Encrypts => _aes is not null;

    public static PayloadCipher FromKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyBytes)
        {
            throw new ArgumentException($"The queue key is {KeyBytes} bytes (AES-256); the key provider gave {key.Length}.", nameof(key));
        }

        return new PayloadCipher(new AesGcm(key, TagBytes));
    }

    public byte[] Seal(byte[] plain)
    {
        if (_aes is null)
        {
            return plain;
        }

        var sealedBlob = new byte[NonceBytes + TagBytes + plain.Length];
        var nonce = sealedBlob.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plain, sealedBlob.AsSpan(NonceBytes + TagBytes), sealedBlob.AsSpan(NonceBytes, TagBytes), Context);
        return sealedBlob;
    }

    /// <exception cref="CryptographicException">The blob was not sealed with this key, or was changed.</exception>
    public byte[] Open(byte[] stored)
    {
        if (_aes is null)
        {
            return stored;
        }

        if (stored.Length < NonceBytes + TagBytes)
        {
            throw new CryptographicException($"A sealed payload is at least {NonceBytes + TagBytes} bytes; got {stored.Length}.");
        }

        var plain = new byte[stored.Length - NonceBytes - TagBytes];
        _aes.Decrypt(stored.AsSpan(0, NonceBytes), stored.AsSpan(NonceBytes + TagBytes), stored.AsSpan(NonceBytes, TagBytes), plain, Context);
        return plain;
    }

    public void Dispose() => _aes?.Dispose();
}
