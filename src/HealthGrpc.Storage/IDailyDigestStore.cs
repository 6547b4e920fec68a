namespace HealthGrpc.Storage;

/// <summary>
/// Per type and UTC day, the count and uuid digest of a user's stored discrete samples, optionally of one uploading
/// device: what a client's reconciliation compares with its sources. Optional for a provider: QueryService.GetDailyDigest
/// answers UNIMPLEMENTED on a store without it.
/// </summary>
public interface IDailyDigestStore
{
    /// <summary>
    /// One entry per type of <paramref name="types"/> (in that order) and day of [<paramref name="firstDayUnixMs"/>,
    /// + <paramref name="days"/> × 24 h), zero entries included; a sample belongs to the day its start falls in.
    /// <paramref name="deviceId"/> null: every device. The digest is the sum (mod 2^64) of <paramref name="hash"/> over
    /// the samples' 16-byte uuids: the hash is the contract's, passed in, so that the store holds no wire definition.
    /// </summary>
    Task<IReadOnlyList<DailyDigestRecord>> ReadDailyDigestsAsync(
        string userId, IReadOnlyList<int> types, long firstDayUnixMs, int days, string? deviceId, UuidHash hash, CancellationToken ct);
}

/// <summary>A 64-bit hash of a 16-byte sample uuid.</summary>
public delegate ulong UuidHash(ReadOnlySpan<byte> uuid);

/// <summary>What a store holds of one type on the UTC day starting at <paramref name="DayStartUnixMs"/>.</summary>
public sealed record DailyDigestRecord(int Type, long DayStartUnixMs, long Count, ulong Digest);
