using System.Globalization;

namespace HealthGrpc.Server.Ingest;

/// <summary>Opaque change-feed tokens: "c1." + the user's change sequence. Versioned so the format can change.</summary>
internal static class ChangeToken
{
    private const string Prefix = "c1.";

    public static string Format(long sequence) => Prefix + sequence.ToString(CultureInfo.InvariantCulture);
}
