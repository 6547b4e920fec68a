using HealthGrpc.Storage;
using HealthGrpc.Storage.Postgres;
using HealthGrpc.Storage.Sqlite;
using System.CommandLine;

namespace HealthGrpc.Cli.Shared;

/// <summary>Opens the configured store for an admin verb (migrating it like the server does).</summary>
internal static class StoreSession
{
    /// <summary>
    /// The store at <paramref name="path"/>; when <paramref name="create"/> is false a missing file is an error, so a
    /// mistyped --store is reported instead of answered from a new empty database.
    /// </summary>
    public static async Task<SqliteHealthStore> OpenAsync(string path, bool create, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            if (!create)
            {
                throw new FileNotFoundException($"no store at '{path}' (set --store PATH).", path);
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return await SqliteHealthStore.OpenAsync(path, ct: ct);
    }

    /// <summary>The store this command line names: the --store file (sqlite) or the --connection-string database (postgres).</summary>
    public static async Task<OpenedStore> OpenAsync(ParseResult parse, bool create, CancellationToken ct)
    {
        if (StoreLocation.ResolveProvider(parse) != PostgresStore.Name)
        {
            var path = StoreLocation.Resolve(parse);
            return new OpenedStore(await OpenAsync(path, create, ct), path);
        }

        var connectionString = StoreLocation.ResolveConnectionString(parse);
        return new OpenedStore(await PostgresHealthStore.OpenAsync(connectionString, ct: ct), PostgresStore.Describe(connectionString));
    }
}

/// <summary>An open store and how to name it in messages (a file path, or postgres://host:port/database).</summary>
internal sealed class OpenedStore(IHealthStore store, string location) : IAsyncDisposable
{
    public IHealthStore Store { get; } = store;

    public string Path { get; } = location;

    /// <summary>Its sharing grants: every provider keeps them.</summary>
    public IGrantStore Grants => (IGrantStore)Store;

    /// <summary>Its quota overrides and usage: every provider keeps them.</summary>
    public IQuotaStore Quotas => (IQuotaStore)Store;

    /// <summary>Its users' source priorities: every provider keeps them.</summary>
    public ISourcePriorityStore SourcePriorities => (ISourcePriorityStore)Store;

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}
