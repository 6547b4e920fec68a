using System.Globalization;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Storage.Postgres;
using Spectre.Console;

namespace HealthGrpc.Cli.Db;

/// <summary>`healthgrpc db migrate|check|stats --provider postgres`: the same verbs on the --connection-string database.</summary>
internal static class PostgresDbCommands
{
    public static async Task<int> MigrateAsync(string connectionString, bool json, CancellationToken ct)
    {
        var path = PostgresStore.Describe(connectionString);
        var applied = await PostgresDatabaseInfo.MigrateAsync(connectionString, ct);
        var version = await PostgresDatabaseInfo.SchemaVersionAsync(connectionString, ct);
        if (json)
        {
            Terminal.WriteJson(new { path, applied, version, latest = PostgresSchema.LatestVersion });
        }
        else
        {
            Terminal.Out.MarkupLineInterpolated($"{path}: applied {applied} migration(s); schema version {version} (latest {PostgresSchema.LatestVersion}).");
        }

        return 0;
    }

    public static async Task<int> CheckAsync(string connectionString, bool json, CancellationToken ct)
    {
        var path = PostgresStore.Describe(connectionString);
        var version = await PostgresDatabaseInfo.SchemaVersionAsync(connectionString, ct);
        var problems = await PostgresDatabaseInfo.CheckAsync(connectionString, ct);
        if (json)
        {
            Terminal.WriteJson(new { path, version, latest = PostgresSchema.LatestVersion, integrity = problems.Count == 0 ? "ok" : "damaged", problems });
        }
        else
        {
            Terminal.Out.MarkupLineInterpolated($"store:     {path}");
            Terminal.Out.MarkupLineInterpolated($"schema:    version {version}, latest {PostgresSchema.LatestVersion}");
            Terminal.Out.MarkupLineInterpolated($"check:     {(problems.Count == 0 ? "ok" : $"DAMAGED ({problems.Count} problem(s))")}");
            foreach (var problem in problems)
            {
                Terminal.Out.MarkupLineInterpolated($"  {problem}");
            }
        }

        return problems.Count == 0 ? 0 : 1;
    }

    public static async Task<int> StatsAsync(string connectionString, bool json, CancellationToken ct)
    {
        var path = PostgresStore.Describe(connectionString);
        var stats = await PostgresDatabaseInfo.StatsAsync(connectionString, ct);
        if (json)
        {
            Terminal.WriteJson(new { path, stats.Schema, stats.DatabaseBytes, stats.Tables });
            return 0;
        }

        var table = new Table().AddColumns("table", "rows", "table bytes", "index bytes");
        foreach (var row in stats.Tables)
        {
            table.AddRow(row.Name, Number(row.Rows), Number(row.TableBytes ?? 0), Number(row.IndexBytes ?? 0));
        }

        table.Caption($"{path} (schema {stats.Schema}): database {Number(stats.DatabaseBytes)} B");
        Terminal.Out.Write(table);
        return 0;
    }

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
