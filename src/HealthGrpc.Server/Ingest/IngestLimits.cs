namespace HealthGrpc.Server.Ingest;

/// <summary>Server limits announced in the Welcome and enforced on every batch.</summary>
public sealed class IngestLimits
{
    /// <summary>Discrete samples per batch, over all sample sets.</summary>
    public int MaxSamplesPerBatch { get; set; } = 10_000;

    /// <summary>Unacknowledged batches on one Sync stream.</summary>
    public int MaxBatchesInFlight { get; set; } = 16;

    /// <summary>Largest request message in bytes.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Points in one series or waveform chunk.</summary>
    public int MaxPointsPerSeries { get; set; } = 100_000;

    /// <summary>
    /// Request bytes (wire size) being validated and committed at once, over all streams. Bounds server memory: a parsed
    /// and validated batch takes five to fifteen times its wire size until it is committed (a 1 Hz heart-rate sample is
    /// ~27 bytes on the wire and ~150 once parsed). 4 MiB holds about three group commits of 50,000 such samples (one
    /// committing, one queued, one being parsed), or 15 of a single backfilling stream's 10,000-sample batches, so a
    /// lone stream's parsing still overlaps the commit; more only queues parsed batches that outlive the young GC
    /// generations (1,000 steady-1hz streams: 8 MiB kept ~520 batches parsed; see bench/README.md).
    /// </summary>
    public long MaxBytesInProgress { get; set; } = 4L * 1024 * 1024;

    /// <summary>
    /// How long a stream keeps its reserved share for a batch whose bytes are still arriving, before it lets others have
    /// it. Long enough for the rest of a batch on its way, short enough that a stalled sender cannot starve busy streams.
    /// </summary>
    public TimeSpan StalledSenderRelease { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How far after the server's clock a sample may start (clock skew allowance).</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(10);
}
