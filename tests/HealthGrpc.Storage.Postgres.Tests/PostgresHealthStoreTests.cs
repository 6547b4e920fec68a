using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>The store contract on a real PostgreSQL (a schema per store).</summary>
public sealed class PostgresHealthStoreTests : HealthStoreContract
{
    private readonly ReopenableStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    protected override Task<IHealthStore> ReopenAsync(IHealthStore store) => _stores.ReopenAsync(store);

    protected override Task<long> CountSamplesAsync(IHealthStore store, string userId, CancellationToken ct)
        => PostgresTestDatabase.CountSamplesAsync(_stores.ConnectionStringOf(store), userId);
}

/// <summary>The account contract on a real PostgreSQL.</summary>
public sealed class PostgresAccountStoreTests : AccountStoreContract
{
    protected override async Task<IHealthStore> CreateStoreAsync() => await PostgresTestDatabase.NewStoreAsync();
}
