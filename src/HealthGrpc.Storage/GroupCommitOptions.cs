namespace HealthGrpc.Storage;

/// <summary>How the single writer groups concurrent batches into one transaction.</summary>
public sealed record GroupCommitOptions
{
    /// <summary>A group closes once it holds this many items (samples, series, chunks, deletions, records). A single larger batch still commits alone.</summary>
    public int MaxRows { get; init; } = 50_000;

    /// <summary>
    /// After draining what is queued, the writer waits at most this long for more batches before committing
    /// (0: commit at once; concurrent batches still group while the previous commit runs).
    /// </summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Capacity of the bounded queue of batches waiting for the writer; CommitAsync waits when it is full.</summary>
    public int QueueCapacity { get; init; } = 1024;
}
