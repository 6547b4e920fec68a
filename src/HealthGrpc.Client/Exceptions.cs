namespace HealthGrpc.Client;

/// <summary>
/// Thrown by an enqueue when the durable queue would exceed its configured bounds
/// (<see cref="HealthSyncOptions.MaxQueuedSamples"/>, <see cref="HealthSyncOptions.MaxQueuedBytes"/>).
/// Nothing of the rejected enqueue was stored, and nothing already queued was dropped: retry after the queue drained.
/// </summary>
public sealed class QueueFullException : HealthSyncException
{
    /// <summary>Creates the exception.</summary>
    public QueueFullException()
        : this("The sync queue is full.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public QueueFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public QueueFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Samples (items) queued when the enqueue was refused.</summary>
    public long QueuedSamples { get; init; }

    /// <summary>Bytes queued when the enqueue was refused.</summary>
    public long QueuedBytes { get; init; }

    /// <summary>Samples (items) the refused enqueue would have added.</summary>
    public long RequestedSamples { get; init; }

    /// <summary>Bytes the refused enqueue would have added.</summary>
    public long RequestedBytes { get; init; }
}
