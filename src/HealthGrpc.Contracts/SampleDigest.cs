namespace HealthGrpc.Contracts;

/// <summary>
/// The order-independent digest of a set of sample uuids that <c>QueryService.GetDailyDigest</c> returns: the sum,
/// modulo 2^64, of FNV-1a-64 over each uuid's 16 wire bytes. Chosen because any language computes it in a few lines
/// and a sum (unlike an xor) does not cancel pairs; server and SDK use this one definition.
/// </summary>
public static class SampleDigest
{
    private const ulong OffsetBasis = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    /// <summary>FNV-1a-64 of one uuid's wire bytes.</summary>
    public static ulong Hash(ReadOnlySpan<byte> uuid)
    {
        var hash = OffsetBasis;
        foreach (var b in uuid)
        {
            hash = unchecked((hash ^ b) * Prime);
        }

        return hash;
    }

    /// <summary>Adds one uuid to a running digest.</summary>
    public static ulong Add(ulong digest, ReadOnlySpan<byte> uuid) => unchecked(digest + Hash(uuid));
}
