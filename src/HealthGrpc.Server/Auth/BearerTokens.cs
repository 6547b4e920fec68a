using System.Security.Cryptography;
using System.Text;

namespace HealthGrpc.Server.Auth;

/// <summary>Issues bearer tokens and hashes them: the store only ever sees SHA-256 hashes, never a token.</summary>
internal static class BearerTokens
{
    private const string Prefix = "hgt_";

    /// <summary>A new random token (256 bits of entropy, URL-safe).</summary>
    public static string Issue() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
