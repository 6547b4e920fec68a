namespace HealthGrpc.Server.Quotas;

/// <summary>
/// Server-wide default quotas per user (<c>Quotas:*</c>); 0 means unlimited (the default for all three). A user's own
/// limits (`healthgrpc user quota USER …`, stored in the store) replace these one by one.
/// </summary>
public sealed class QuotaOptions
{
    /// <summary>Devices (device ids) that committed a batch.</summary>
    public long MaxDevices { get; set; }

    /// <summary>Items stored per UTC day: each new sample, series, waveform chunk, deletion or record counts one.</summary>
    public long MaxSamplesPerDay { get; set; }

    /// <summary>Stored bytes: payloads of series, waveform chunks and records, plus 64 per stored row (see docs/operations.md).</summary>
    public long MaxStoredBytes { get; set; }
}
