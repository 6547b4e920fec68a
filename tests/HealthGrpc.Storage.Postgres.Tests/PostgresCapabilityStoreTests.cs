using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>The grant contract on a real PostgreSQL (a schema per store).</summary>
public sealed class PostgresGrantStoreTests : GrantStoreContract
{
    protected override async Task<IHealthStore> CreateStoreAsync() => await PostgresTestDatabase.NewStoreAsync();
}

/// <summary>The quota contract on a real PostgreSQL.</summary>
public sealed class PostgresQuotaStoreTests : QuotaStoreContract
{
    protected override async Task<IHealthStore> CreateStoreAsync() => await PostgresTestDatabase.NewStoreAsync();
}

/// <summary>The retention contract on a real PostgreSQL.</summary>
public sealed class PostgresRetentionStoreTests : RetentionStoreContract
{
    private readonly ReopenableStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    protected override Task<IHealthStore> ReopenAsync(IHealthStore store) => _stores.ReopenAsync(store);

    protected override Task<long> CountSamplesAsync(IHealthStore store, string userId, CancellationToken ct) =>
        PostgresTestDatabase.CountSamplesAsync(_stores.ConnectionStringOf(store), userId);
}

/// <summary>The daily digest contract on a real PostgreSQL.</summary>
public sealed class PostgresDailyDigestStoreTests : DailyDigestStoreContract
{
    protected override async Task<IHealthStore> CreateStoreAsync() => await PostgresTestDatabase.NewStoreAsync();
}

/// <summary>The retention progress contract on a real PostgreSQL.</summary>
public sealed class PostgresRetentionProgressStoreTests : RetentionProgressStoreContract
{
    private readonly ReopenableStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    protected override Task<IHealthStore> ReopenAsync(IHealthStore store) => _stores.ReopenAsync(store);
}

/// <summary>The source priority contract on a real PostgreSQL.</summary>
public sealed class PostgresSourcePriorityStoreTests : SourcePriorityStoreContract
{
    private readonly ReopenableStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    protected override Task<IHealthStore> ReopenAsync(IHealthStore store) => _stores.ReopenAsync(store);
}

/// <summary>The insight contract on a real PostgreSQL.</summary>
public sealed class PostgresInsightStoreTests : InsightStoreContract
{
    protected override async Task<IHealthStore> CreateStoreAsync() => await PostgresTestDatabase.NewStoreAsync();
}
