using System.Collections.Concurrent;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>Stores on new schemas of their own (<see cref="PostgresTestDatabase"/>) that a contract can reopen on the same schema.</summary>
internal sealed class ReopenableStores
{
    private readonly ConcurrentDictionary<IHealthStore, string> _connectionStrings = new();

    public async Task<IHealthStore> CreateAsync() => await OpenAsync(await PostgresTestDatabase.NewSchemaAsync());

    public async Task<IHealthStore> ReopenAsync(IHealthStore store)
    {
        var connectionString = _connectionStrings[store];
        await store.DisposeAsync();
        return await OpenAsync(connectionString);
    }

    /// <summary>The connection string (with its schema) a store of this set was opened on.</summary>
    public string ConnectionStringOf(IHealthStore store) => _connectionStrings[store];

    private async Task<IHealthStore> OpenAsync(string connectionString)
    {
        var store = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options);
        _connectionStrings[store] = connectionString;
        return store;
    }
}
