using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>
/// Two store instances (two data sources, as two server instances would have) on one new schema of the test run's
/// PostgreSQL, opened before each test and disposed after it.
/// </summary>
public abstract class TwoStoreInstances : IAsyncLifetime
{
    protected static readonly CancellationToken None = CancellationToken.None;

    protected PostgresHealthStore A { get; private set; } = null!;

    protected PostgresHealthStore B { get; private set; } = null!;

    protected string ConnectionString { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        A = await PostgresHealthStore.OpenAsync(ConnectionString, PostgresTestDatabase.Options).T30();
        B = await PostgresHealthStore.OpenAsync(ConnectionString, PostgresTestDatabase.Options).T30();
    }

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}
