using Npgsql;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>
/// The PostgreSQL server of the test run (HEALTHGRPC_TEST_PG, set by scripts/with-postgres.sh). Missing, it FAILS the
/// tests with a message saying how to run them; it never skips. Each store gets a schema of its own (a fresh, empty
/// database as far as the store can tell), so tests never see each other's rows.
/// </summary>
internal static class PostgresTestDatabase
{
    public const string Variable = "HEALTHGRPC_TEST_PG";

    public static readonly PostgresStoreOptions Options = new()
    {
        GroupCommit = new GroupCommitOptions { MaxDelay = TimeSpan.FromMilliseconds(1) },
        MaxPoolSize = 8,
    };

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set, so there is no PostgreSQL to test against. Run the tests through scripts/with-postgres.sh, " +
                "which starts a throw-away PostgreSQL 15 and sets it (scripts/test.sh does): " +
                "scripts/with-postgres.sh dotnet test tests/HealthGrpc.Storage.Postgres.Tests");

    /// <summary>A connection string whose search path is a new, empty schema.</summary>
    public static Task<string> NewSchemaAsync() => NewSchemaAsync(ServerConnectionString);

    /// <summary>A connection string whose search path is a new, empty schema of the server at <paramref name="server"/>.</summary>
    public static async Task<string> NewSchemaAsync(string server)
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(server) { SearchPath = schema, Pooling = true }.ConnectionString;
    }

    /// <summary>A store on a new schema.</summary>
    public static async Task<PostgresHealthStore> NewStoreAsync(PostgresStoreOptions? options = null) =>
        await PostgresHealthStore.OpenAsync(await NewSchemaAsync(), options ?? Options);

    /// <summary>Stored discrete samples of the user in the schema of <paramref name="connectionString"/>, counted outside the store.</summary>
    public static async Task<long> CountSamplesAsync(string connectionString, string userId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM samples WHERE user_ref = (SELECT id FROM users WHERE user_id = @u)", connection);
        command.Parameters.AddWithValue("u", userId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
