using System.Security.Cryptography;
using System.Text;

namespace HealthGrpc.Server.Sharing;

/// <summary>
/// Share codes: bearer credentials of one grant for someone without an account. Their own prefix tells them from user
/// tokens ("hgt_") before any lookup; like tokens, the store keeps only their SHA-256 hash.
/// </summary>
internal static class ShareCodes
{
    public const string Prefix = "hgs_";

    /// <summary>A new random code (256 bits of entropy, URL-safe).</summary>
    public static string Issue() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool IsShareCode(string token) => token.StartsWith(Prefix, StringComparison.Ordinal);

    public static byte[] Hash(string code) => SHA256.HashData(Encoding.UTF8.GetBytes(code));

    /// <summary>A new grant id: "gr_" + 16 hex digits (64 random bits; ids are public, codes are the secret).</summary>
    public static string NewGrantId() => "gr_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}
