namespace HealthGrpc.Storage;

/// <summary>
/// Per-user quota overrides and the usage quotas are checked against. Optional for a provider: the server enforces
/// quotas only on a store that implements it. Administered by `healthgrpc user quota`, possibly from another process.
/// </summary>
public interface IQuotaStore
{
    /// <summary>The user's overrides (each null when the server-wide default applies), or null when the user is unknown.</summary>
    Task<QuotaOverride?> GetQuotaOverrideAsync(string userId, CancellationToken ct);

    /// <summary>Replaces the user's overrides; false when the user is unknown.</summary>
    Task<bool> SetQuotaOverrideAsync(string userId, QuotaOverride quota, CancellationToken ct);

    /// <summary>
    /// The user's usage: devices that committed, items stored since <paramref name="sinceUnixMs"/> (each sample, series,
    /// waveform chunk, deletion, record or replacement takes one change sequence) and, when
    /// <paramref name="withStoredBytes"/>, the stored bytes (a scan of the user's rows: asked only when a limit needs it).
    /// </summary>
    Task<QuotaUsage> GetUsageAsync(string userId, long sinceUnixMs, bool withStoredBytes, CancellationToken ct);
}

/// <summary>A user's own limits; null: the server's default; 0: unlimited for this user.</summary>
public sealed record QuotaOverride(long? MaxDevices, long? MaxSamplesPerDay, long? MaxStoredBytes);

/// <summary>What a user holds now (<see cref="StoredBytes"/> 0 when not asked for).</summary>
public sealed record QuotaUsage(long Devices, long ItemsSince, long StoredBytes)
{
    /// <summary>
    /// What a stored item counts for the stored-bytes quota: its payload (series, waveform chunk, record) plus this much
    /// for its row; a discrete sample is a row only. An accounting measure, the same for every provider, not a file size.
    /// </summary>
    public const long RowBytes = 64;
}
