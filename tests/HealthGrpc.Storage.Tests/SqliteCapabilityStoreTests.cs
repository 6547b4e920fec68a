using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Tests;

/// <summary>A store on a real SQLite file of its own in a temp directory, for the capability contracts.</summary>
internal sealed class SqliteTestStores : IDisposable
{
    private readonly TempDirectory _directory = new();

    public async Task<IHealthStore> CreateAsync() => await SqliteHealthStore.OpenAsync(_directory.File(Guid.NewGuid().ToString("N") + ".db"));

    public static async Task<IHealthStore> ReopenAsync(IHealthStore store)
    {
        var path = ((SqliteHealthStore)store).Path;
        await store.DisposeAsync();
        return await SqliteHealthStore.OpenAsync(path);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}

/// <summary>The grant contract on SQLite.</summary>
public sealed class SqliteGrantStoreTests : GrantStoreContract, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    public void Dispose() => _stores.Dispose();
}

/// <summary>The quota contract on SQLite.</summary>
public sealed class SqliteQuotaStoreTests : QuotaStoreContract, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    public void Dispose() => _stores.Dispose();
}

/// <summary>The retention contract on SQLite.</summary>
public sealed class SqliteRetentionStoreTests : RetentionStoreContract, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    protected override Task<IHealthStore> ReopenAsync(IHealthStore store) => SqliteTestStores.ReopenAsync(store);

    protected override Task<long> CountSamplesAsync(IHealthStore store, string userId, CancellationToken ct) => store.CountSamplesAsync(userId, ct);

    public void Dispose() => _stores.Dispose();
}

/// <summary>The daily digest contract on SQLite.</summary>
public sealed class SqliteDailyDigestStoreTests : DailyDigestStoreContract, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    public void Dispose() => _stores.Dispose();
}

/// <summary>The insight contract on SQLite.</summary>
public sealed class SqliteInsightStoreTests : InsightStoreContract, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    public void Dispose() => _stores.Dispose();
}

/// <summary>The retention progress contract on SQLite.</summary>
public sealed class SqliteRetentionProgressStoreTests : RetentionProgressStoreContract, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    protected override Task<IHealthStore> ReopenAsync(IHealthStore store) => SqliteTestStores.ReopenAsync(store);

    public void Dispose() => _stores.Dispose();
}

/// <summary>The source priority contract on SQLite.</summary>
public sealed class SqliteSourcePriorityStoreTests : SourcePriorityStoreContract, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<IHealthStore> CreateStoreAsync() => _stores.CreateAsync();

    protected override Task<IHealthStore> ReopenAsync(IHealthStore store) => SqliteTestStores.ReopenAsync(store);

    public void Dispose() => _stores.Dispose();
}
