using HealthGrpc.Server;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Postgres;
using Microsoft.Extensions.Configuration;

namespace HealthGrpc.Cli.Shared;

/// <summary>
/// The PostgreSQL provider as the CLI ships it: `Storage:Provider postgres` with `Storage:ConnectionString`, tuned by the
/// other Storage keys of <see cref="PostgresStoreOptions"/> (MaxPoolSize, ConnectionTimeout, CommandTimeout,
/// GroupCommit:*, AllowAsynchronousCommit). The server project itself references no PostgreSQL driver.
/// </summary>
internal static class PostgresStore
{
    public const string Name = "postgres";

    /// <summary>The providers `healthgrpc serve` can open.</summary>
    public static StoreProviders Providers { get; } = new StoreProviders().Add(Name, OpenAsync);

    public static async Task<(IHealthStore Store, string Description)> OpenAsync(IConfigurationSection storage, CancellationToken ct)
    {
        var connectionString = storage["ConnectionString"] is { Length: > 0 } value
            ? value
            : throw new HealthStoreConfigurationException("Storage:Provider postgres needs Storage:ConnectionString (--connection-string).");
        var options = storage.Get<PostgresStoreOptions>() ?? new PostgresStoreOptions();
        return (await PostgresHealthStore.OpenAsync(connectionString, options, ct), Describe(connectionString));
    }

    /// <summary>Host, port and database of a connection string (never its password), for messages and logs.</summary>
    public static string Describe(string connectionString)
    {
        var builder = PgConnectionString.Parse(connectionString);
        return $"postgres://{builder.Host}:{builder.Port}/{builder.Database}";
    }
}
