using System.Globalization;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// Opaque change-feed tokens: "c1." + the user's change sequence (acks and the change feed issue the same tokens).
/// Versioned so the format can change: a later version is parsed next to this one, never instead of it.
/// </summary>
internal static class ChangeToken
{
    private const string Prefix = "c1.";

    public static string Format(long sequence) => Prefix + sequence.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a token this server formats: the version prefix, then the sequence in canonical decimal (no sign, no
    /// leading zeros, no white space), so every sequence has exactly one token.
    /// </summary>
    public static bool TryParse(string token, out long sequence)
    {
        sequence = 0;
        if (!token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var digits = token.AsSpan(Prefix.Length);
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
}
