using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// Opaque change-feed tokens, bound to the feed they were issued for: "c2." + the feed owner's change sequence + "." +
/// a tag of the owner's user id (the first 6 bytes of its SHA-256, URL-safe base64), so a token of one user's feed used
/// on another's is refused instead of silently read as a position there. Acks and the change feed issue the same
/// tokens. The tag detects a mix-up, it is no secret: who may read a feed is decided by the caller and its grants.
/// Version 1 ("c1." + sequence, unbound), issued before, is still read, as a position in whichever feed it is used on
/// (the old behaviour); a later version is parsed next to these, never instead of them.
/// </summary>
internal static class ChangeToken
{
    private const string LegacyPrefix = "c1.";
    private const string Prefix = "c2.";
    private const int TagLength = 8;

    public static string Format(string ownerUserId, long sequence) =>
        Prefix + sequence.ToString(CultureInfo.InvariantCulture) + "." + Tag(ownerUserId);

    /// <summary>
    /// Reads a token this server formats for <paramref name="ownerUserId"/>'s feed: the version prefix, the sequence in
    /// canonical decimal (no sign, no leading zeros, no white space, so every sequence has exactly one token) and, for
    /// version 2, the owner's tag.
    /// </summary>
    public static ChangeTokenParse TryParse(string token, string ownerUserId, out long sequence)
    {
        sequence = 0;
        if (token.StartsWith(LegacyPrefix, StringComparison.Ordinal))
        {
            return TryParseSequence(token.AsSpan(LegacyPrefix.Length), out sequence) ? ChangeTokenParse.Valid : ChangeTokenParse.Malformed;
        }

        if (!token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return ChangeTokenParse.Malformed;
        }

        var rest = token.AsSpan(Prefix.Length);
        var dot = rest.IndexOf('.');
        if (dot < 0 || !TryParseSequence(rest[..dot], out sequence) || rest.Length - dot - 1 != TagLength)
        {
            return ChangeTokenParse.Malformed;
        }

        return rest[(dot + 1)..].SequenceEqual(Tag(ownerUserId)) ? ChangeTokenParse.Valid : ChangeTokenParse.OtherFeed;
    }

    private static bool TryParseSequence(ReadOnlySpan<char> digits, out long sequence)
    {
        sequence = 0;
        if (digits.Length is 0 or > 19 || (digits[0] == '0' && digits.Length > 1))
        {
            return false;
        }

        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out sequence);
    }

    private static string Tag(string ownerUserId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(ownerUserId), hash);
        return Convert.ToBase64String(hash[..6]).Replace('+', '-').Replace('/', '_');
    }
}

/// <summary>What <see cref="ChangeToken.TryParse"/> found.</summary>
internal enum ChangeTokenParse
{
    Valid,
    Malformed,

    /// <summary>A well-formed token issued for another user's feed.</summary>
    OtherFeed,
}
