using System.Collections.Concurrent;
using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>The store contract on a real PostgreSQL (a schema per store).</summary>
public sealed class PostgresHealthStoreTests : HealthStoreContract
{
    private readonly ConcurrentDictionary<IHealthStore, string> _connectionStrings = new();

    protected override async Task<IHealthStore> CreateStoreAsync()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync();
        var store = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options);
        _connectionStrings[store] = connectionString;
        return store;
    }

    protected override async Task<IHealthStore> ReopenAsync(IHealthStore store)
    {
        var connectionString = _connectionStrings[store];
        await store.DisposeAsync();
        var reopened = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options);
        _connectionStrings[reopened] = connectionString;
        return reopened;
    }

    protected override Task<long> CountSamplesAsync(IHealthStore store, string userId, CancellationToken ct)
        => PostgresTestDatabase.CountSamplesAsync(_connectionStrings[store], userId);
}

/// <summary>The account contract on a real PostgreSQL.</summary>
public sealed class PostgresAccountStoreTests : AccountStoreContract
{
    protected override async Task<IHealthStore> CreateStoreAsync() => await PostgresTestDatabase.NewStoreAsync();
}
