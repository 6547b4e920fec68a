using System.Diagnostics;
using HealthGrpc.Storage.Tests;
using Npgsql;

namespace HealthGrpc.Storage.Postgres.Tests.Faults;

/// <summary>
/// The PostgreSQL cluster the fault tests may stop and restart (HEALTHGRPC_TEST_PG_FAULT and its pg_ctl command line
/// HEALTHGRPC_TEST_PG_FAULT_CTL, both set by scripts/with-postgres.sh): a second cluster of its own, so stopping it
/// never hits the shared one the other test projects use in parallel. Missing, the tests FAIL saying how to run them.
/// </summary>
internal static class FaultCluster
{
    public const string Variable = "HEALTHGRPC_TEST_PG_FAULT";
    public const string ControlVariable = "HEALTHGRPC_TEST_PG_FAULT_CTL";
    private static readonly TimeSpan PgCtlTimeout = TimeSpan.FromSeconds(90);

    public static string ServerConnectionString => Required(Variable);

    /// <summary>A connection string whose search path is a new, empty schema of the fault cluster.</summary>
    public static Task<string> NewSchemaAsync() => PostgresTestDatabase.NewSchemaAsync(Unpooled(ServerConnectionString));

    /// <summary>`pg_ctl stop -m immediate`: every backend dies at once, like a crash (in-flight transactions are lost).</summary>
    public static Task StopImmediatelyAsync() => PgCtlAsync("stop -m immediate -w -t 60");

    /// <summary>`pg_ctl start`, waiting until it accepts connections (after crash recovery).</summary>
    public static Task StartAsync() => PgCtlAsync("start -w -t 60");

    /// <summary>Starts the cluster if a failed test left it stopped (pg_ctl status exits 3 when it is not running).</summary>
    public static async Task EnsureRunningAsync()
    {
        if (await RunAsync("status") == 3)
        {
            await StartAsync();
        }
    }

    /// <summary>Reads one value from the fault cluster (a fresh, unpooled connection: it works right after a restart).</summary>
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(Unpooled(connectionString));
        await connection.OpenAsync().WaitAsync(TestData.Timeout);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync().WaitAsync(TestData.Timeout))!;
    }

    /// <summary>No pool: a pooled idle connection of this process would be a dead one after a restart of the cluster.</summary>
    private static string Unpooled(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;

    private static async Task PgCtlAsync(string arguments)
    {
        var exitCode = await RunAsync(arguments);
        Assert.True(exitCode == 0, $"`pg_ctl {arguments}` on the fault cluster exited {exitCode}");
    }

    private static async Task<int> RunAsync(string arguments)
    {
        // The variable is a command line (runuser -u hgtest -- .../pg_ctl -D ... -l ...): run it through the shell.
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"{Required(ControlVariable)} {arguments}");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start bash for pg_ctl");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(PgCtlTimeout);
        await Task.WhenAll(output, error).WaitAsync(PgCtlTimeout);
        return process.ExitCode;
    }

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{variable} is not set, so there is no PostgreSQL cluster the fault tests may stop. Run the tests through " +
                "scripts/with-postgres.sh, which starts a second throw-away cluster for them and sets it (scripts/test.sh does): " +
                "scripts/with-postgres.sh dotnet test tests/HealthGrpc.Storage.Postgres.Tests");
}

/// <summary>The fault tests stop PostgreSQL and kill servers: one at a time, never beside each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection
{
    public const string Name = "postgres faults";
}
