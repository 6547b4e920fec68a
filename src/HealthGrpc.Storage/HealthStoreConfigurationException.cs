namespace HealthGrpc.Storage;

/// <summary>
/// The store cannot be opened as configured (a malformed connection string, a database that would not keep an
/// acknowledged batch through a crash). Unlike <see cref="HealthStoreUnavailableException"/>, retrying does not help:
/// the configuration must change. The message names the setting that is wrong.
/// </summary>
public sealed class HealthStoreConfigurationException : Exception
{
    public HealthStoreConfigurationException(string message)
        : base(message)
    {
    }

    public HealthStoreConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
