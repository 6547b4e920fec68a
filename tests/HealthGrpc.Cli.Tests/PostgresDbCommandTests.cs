using HealthGrpc.Cli.Tests.Infrastructure;
using HealthGrpc.Storage.Postgres;
using Npgsql;

namespace HealthGrpc.Cli.Tests;

/// <summary>
/// `healthgrpc db migrate|check|stats --provider postgres` on the test run's PostgreSQL (HEALTHGRPC_TEST_PG, set by
/// scripts/with-postgres.sh; missing, the tests fail saying so), each test on a new, empty schema.
/// </summary>
public sealed class PostgresDbCommandTests
{
    private static async Task<string> NewSchemaAsync()
    {
        var server = Environment.GetEnvironmentVariable("HEALTHGRPC_TEST_PG") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("HEALTHGRPC_TEST_PG is not set: run the tests through scripts/with-postgres.sh (scripts/test.sh does).");
        var schema = "cli_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync().Bounded();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await command.ExecuteNonQueryAsync().Bounded();
        }

        return new NpgsqlConnectionStringBuilder(server) { SearchPath = schema }.ConnectionString;
    }

    private static Task<CliRun> RunAsync(string connectionString, params string[] args) =>
        Healthgrpc.RunAsync([.. args, "--provider", "postgres", "--connection-string", connectionString]);

    [Fact]
    public async Task DbMigrate_AppliesEveryMigrationOnce_ThenCheckIsOk_AndStatsCountRowsPerTable()
    {
        var database = await NewSchemaAsync();

        var before = await RunAsync(database, "db", "check", "--json");
        var first = (await RunAsync(database, "db", "migrate", "--json")).Succeeded().Json();
        var second = (await RunAsync(database, "db", "migrate", "--json")).Succeeded().Json();
        (await RunAsync(database, "user", "create", "alice", "--issue-token")).Succeeded();
        (await RunAsync(database, "user", "create", "bob")).Succeeded();
        var check = (await RunAsync(database, "db", "check", "--json")).Succeeded().Json();
        var stats = (await RunAsync(database, "db", "stats", "--json")).Succeeded().Json();
        var table = (await RunAsync(database, "db", "stats")).Succeeded().Stdout;

        Assert.NotEqual(0, before.ExitCode);
        Assert.Contains("not applied", before.Stdout, StringComparison.Ordinal);
        Assert.Equal(PostgresSchema.Migrations.Count, first.GetProperty("applied").GetInt32());
        Assert.Equal(0, second.GetProperty("applied").GetInt32());
        Assert.Equal(PostgresSchema.LatestVersion, check.GetProperty("version").GetInt32());
        Assert.Equal("ok", check.GetProperty("integrity").GetString());
        var tables = stats.GetProperty("tables").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(2, tables["users"].GetProperty("rows").GetInt64());
        Assert.Equal(1, tables["tokens"].GetProperty("rows").GetInt64());
        Assert.Equal(0, tables["samples"].GetProperty("rows").GetInt64());
        Assert.True(tables["users"].GetProperty("tableBytes").GetInt64() > 0);
        Assert.True(tables["users"].GetProperty("indexBytes").GetInt64() > 0, "users has a unique index on user_id");
        Assert.True(stats.GetProperty("databaseBytes").GetInt64() > 0);
        Assert.Contains("grant_access", table, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Hostt=127.0.0.1;Database=x", "Couldn't set hostt")]
    [InlineData("Host=127.0.0.1;Timeout=soon", "Couldn't set timeout")]
    [InlineData("no key value pairs here", "not a valid PostgreSQL connection string")]
    public async Task AMalformedConnectionString_IsAnErrorNamingIt_InEveryVerb_NeverAStackTrace(string connectionString, string named)
    {
        string[][] verbs = [["user", "list"], ["db", "check"], ["serve", "--urls", "http://127.0.0.1:0"]];
        foreach (var verb in verbs)
        {
            var run = await RunAsync(connectionString, verb);

            Assert.True(run.ExitCode == 1, $"`{run.CommandLine}` exited {run.ExitCode}:\n{run.Stderr}");
            Assert.Contains("Storage:ConnectionString is not a valid PostgreSQL connection string", run.Stderr, StringComparison.Ordinal);
            Assert.Contains(named, run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Serve_OnADatabaseWithSynchronousCommitOff_RefusesToStart_SayingWhatToSet()
    {
        var database = new NpgsqlConnectionStringBuilder(await NewSchemaAsync()) { Options = "-c synchronous_commit=off" }.ConnectionString;

        var run = await RunAsync(database, "serve", "--urls", "http://127.0.0.1:0");

        Assert.True(run.ExitCode == 1, $"`{run.CommandLine}` exited {run.ExitCode}:\n{run.Stderr}");
        Assert.Contains("synchronous_commit=off", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("Storage:AllowAsynchronousCommit", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserSourcePriority_OnPostgres_IsStoredPerUser_AndDefaultForgetsIt()
    {
        var database = await NewSchemaAsync();
        (await RunAsync(database, "user", "create", "alice")).Succeeded();

        var set = (await RunAsync(database, "user", "source-priority", "alice", "phone", "scale", "--json")).Succeeded().Json();
        var shown = (await RunAsync(database, "user", "source-priority", "alice", "--json")).Succeeded().Json();
        var reset = (await RunAsync(database, "user", "source-priority", "alice", "--default", "--json")).Succeeded().Json();
        var unknown = await RunAsync(database, "user", "source-priority", "bob", "phone");

        Assert.Equal(["phone", "scale"], set.GetProperty("sourcePriority").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal(["phone", "scale"], shown.GetProperty("sourcePriority").EnumerateArray().Select(k => k.GetString()));
        Assert.True(reset.GetProperty("isDefault").GetBoolean());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no user 'bob' in postgres://", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DbCheck_ADroppedTable_ExitsNonZeroAndNamesIt()
    {
        var database = await NewSchemaAsync();
        (await RunAsync(database, "db", "migrate")).Succeeded();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync().Bounded();
            await using var drop = new NpgsqlCommand("DROP TABLE retention_horizons", connection);
            await drop.ExecuteNonQueryAsync().Bounded();
        }

        var run = await RunAsync(database, "db", "check");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("DAMAGED", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("retention_horizons", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserQuota_OnPostgres_SetsAndShowsTheUsersLimits()
    {
        var database = await NewSchemaAsync();
        (await RunAsync(database, "user", "create", "alice", "--devices", "3")).Succeeded();

        var quota = (await RunAsync(database, "user", "quota", "alice", "--json")).Succeeded().Json();

        Assert.Equal(3, quota.GetProperty("limits").GetProperty("maxDevices").GetInt64());
    }
}
