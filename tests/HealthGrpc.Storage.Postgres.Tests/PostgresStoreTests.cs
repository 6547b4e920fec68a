using HealthGrpc.Storage.Tests;
using Npgsql;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>PostgreSQL-specific behavior: the durability check at open, a bounded pool, migrations, the set-based layout.</summary>
public sealed class PostgresStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Open_RefusesAServerWithSynchronousCommitOff_UnlessAllowed()
    {
        // The session default as the server would hand it out (role/database/server setting).
        var connectionString = new NpgsqlConnectionStringBuilder(await PostgresTestDatabase.NewSchemaAsync().T30()) { Options = "-c synchronous_commit=off" }.ConnectionString;

        var refused = await Assert.ThrowsAsync<HealthStoreConfigurationException>(() => PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options)).T30();

        Assert.Contains("synchronous_commit=off", refused.Message, StringComparison.Ordinal);
        await using var allowed = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options with { AllowAsynchronousCommit = true }).T30();
        Assert.Equal(0L, await allowed.GetChangeSequenceAsync(NewUser(), None).T30());
    }

    [Fact]
    public async Task AnExhaustedPool_AnswersUnavailable_WithinTheConnectionTimeout_NeverHangs()
    {
        // Two connections: the change listener holds one, the writer (after its first group) the other; a read then has none.
        var options = PostgresTestDatabase.Options with { MaxPoolSize = 2, ConnectionTimeout = TimeSpan.FromSeconds(1) };
        await using var store = await PostgresHealthStore.OpenAsync(await PostgresTestDatabase.NewSchemaAsync().T30(), options).T30();
        await store.CheckWritableAsync(None).T30();

        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<HealthStoreUnavailableException>(() => store.ReadChangesAsync(NewUser(), 0, 10, None)).T30();

        Assert.Contains("unavailable", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
        // The writer still commits: exhaustion of reads does not stop ingest.
        Assert.Equal(1, (await store.CommitAsync(Batch(NewUser(), "d", 1, [Sample()]), None).T30()).Committed().Accepted);
    }

    [Fact]
    public async Task TwoInstancesOpeningAnEmptyDatabaseAtOnce_MigrateOnce()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();

        var stores = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options))).T30();

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand("SELECT COUNT(*) FROM schema_migrations", connection))
        {
            Assert.Equal((long)PostgresSchema.Migrations.Count, (long)(await command.ExecuteScalarAsync())!);
        }

        Assert.Equal(PostgresSchema.LatestVersion, await PostgresSchema.CurrentVersionAsync(connection, None));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task Sources_AndUnits_AreStoredOnce()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        await using (var store = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options).T30())
        {
            var user = NewUser();
            for (var seq = 1; seq <= 3; seq++)
            {
                var samples = Enumerable.Range(0, 100).Select(i => Sample(source: i % 2 == 0 ? Watch : Phone with { })).ToList();
                await store.CommitAsync(Batch(user, "d", (ulong)seq, samples), None).T30();
            }
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT (SELECT COUNT(*) FROM sources), (SELECT COUNT(*) FROM units)", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((2L, 1L), (reader.GetInt64(0), reader.GetInt64(1)));
    }
}
