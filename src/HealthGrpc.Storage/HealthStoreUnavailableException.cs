namespace HealthGrpc.Storage;

/// <summary>
/// The store could not commit (I/O error, disk full, database gone) or is shutting down. Nothing of the affected
/// batch was stored and nothing may be acked; the client retries later (gRPC UNAVAILABLE).
/// </summary>
public sealed class HealthStoreUnavailableException : Exception
{
    public HealthStoreUnavailableException(string message)
        : base(message)
    {
    }

    public HealthStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
