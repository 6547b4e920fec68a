namespace HealthGrpc.Client;

/// <summary>
/// The base of every exception the SDK's public methods throw on purpose (besides argument errors and cancellation):
/// catch it to handle any SDK failure. Nothing internal (SQLite, protobuf, cryptography, gRPC) escapes a public method
/// unwrapped: such a cause is the <see cref="Exception.InnerException"/> of a <see cref="LocalStoreException"/>.
/// </summary>
public class HealthSyncException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HealthSyncException()
        : this("The health sync SDK failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public HealthSyncException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public HealthSyncException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The local store failed: the disk is full or read-only, the file is damaged, or the queued payloads cannot be
/// decrypted with the key the <see cref="IQueueKeyProvider"/> gave. The cause is the <see cref="Exception.InnerException"/>;
/// what was committed before stays committed (every change is one transaction).
/// </summary>
public sealed class LocalStoreException : HealthSyncException
{
    /// <summary>Creates the exception.</summary>
    public LocalStoreException()
        : this("The local sync store failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public LocalStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public LocalStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Path of the local database.</summary>
    public string? DatabasePath { get; init; }
}

/// <summary>Thrown by <see cref="HealthSyncClient.DrainAsync"/> and <see cref="HealthSyncClient.WaitUntilDrainedAsync"/> after <see cref="HealthSyncClient.StopAsync"/>: the engine stays stopped until <see cref="HealthSyncClient.Start"/>.</summary>
public sealed class SyncStoppedException : HealthSyncException
{
    /// <summary>Creates the exception.</summary>
    public SyncStoppedException()
        : this("The sync engine is stopped.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SyncStoppedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public SyncStoppedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// This installation is fenced: a newer installation of the same device id (a reinstall, a restored backup) took over,
/// and this one never syncs again (<see cref="SyncState.Fenced"/>). Its queue will not drain.
/// </summary>
public sealed class InstallationFencedException : HealthSyncException
{
    /// <summary>Creates the exception.</summary>
    public InstallationFencedException()
        : this("This installation is fenced by a newer epoch of the device; its queue will not drain.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InstallationFencedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public InstallationFencedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A reconciliation (<see cref="HealthSyncClient.ReconcileAsync"/>) could not ask the server what it holds: nothing was
/// compared or enqueued. <see cref="StatusCode"/> is the server's status (e.g. UNIMPLEMENTED on a store without daily
/// digests, UNAVAILABLE when unreachable).
/// </summary>
public sealed class ReconciliationException : HealthSyncException
{
    /// <summary>Creates the exception.</summary>
    public ReconciliationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ReconciliationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ReconciliationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The server's status, when it answered one.</summary>
    public Grpc.Core.StatusCode? StatusCode { get; init; }
}
