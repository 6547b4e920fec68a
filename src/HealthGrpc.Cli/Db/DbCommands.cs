using System.CommandLine;
using System.Globalization;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Storage.Sqlite;
using Spectre.Console;

namespace HealthGrpc.Cli.Db;

/// <summary>`healthgrpc db migrate|check|stats`: the store's schema version, integrity and sizes.</summary>
internal static class DbCommands
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    public static Command Build() => new("db", "Migrate, check and measure the store")
    {
        Migrate(),
        Check(),
        Stats(),
    };

    private static Command Migrate()
    {
        var command = new Command("migrate", "Apply the missing schema migrations (serve does this on start too); creates the store if missing") { Terminal.JsonOption };
        command.SetAction(parse =>
        {
            var path = SqlitePath(parse, "db migrate");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var applied = SqliteDatabaseInfo.Migrate(path, BusyTimeout);
            var version = SqliteDatabaseInfo.SchemaVersion(path);
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(new { path, applied, version, latest = SqliteSchema.LatestVersion });
            }
            else
            {
                Terminal.Out.MarkupLineInterpolated($"{path}: applied {applied} migration(s); schema version {version} (latest {SqliteSchema.LatestVersion}).");
            }

            return 0;
        });
        return command;
    }

    private static Command Check()
    {
        var command = new Command("check", "Schema version (current/latest) and PRAGMA integrity_check; exit code 1 when the file is damaged or newer than this build") { Terminal.JsonOption };
        command.SetAction(parse =>
        {
            var path = SqlitePath(parse, "db check");
            var version = SqliteDatabaseInfo.SchemaVersion(path);
            var problems = SqliteDatabaseInfo.CheckIntegrity(path);
            var tooNew = version > SqliteSchema.LatestVersion;
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(new { path, version, latest = SqliteSchema.LatestVersion, integrity = problems.Count == 0 ? "ok" : "damaged", problems });
            }
            else
            {
                Terminal.Out.MarkupLineInterpolated($"store:     {path}");
                Terminal.Out.MarkupLineInterpolated($"schema:    version {version}, latest {SqliteSchema.LatestVersion}{(version < SqliteSchema.LatestVersion ? " (run: healthgrpc db migrate)" : tooNew ? " (written by a newer healthgrpc)" : "")}");
                Terminal.Out.MarkupLineInterpolated($"integrity: {(problems.Count == 0 ? "ok" : $"DAMAGED ({problems.Count} problem(s))")}");
                foreach (var problem in problems)
                {
                    Terminal.Out.MarkupLineInterpolated($"  {problem}");
                }
            }

            return problems.Count == 0 && !tooNew ? 0 : 1;
        });
        return command;
    }

    private static Command Stats()
    {
        var command = new Command("stats", "Row counts per table, page counts and sizes of the file and its WAL (per-table bytes where SQLite has dbstat)") { Terminal.JsonOption };
        command.SetAction(parse =>
        {
            var path = SqlitePath(parse, "db stats");
            var stats = SqliteDatabaseInfo.Stats(path);
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(new { path, stats.PageCount, stats.PageSize, stats.FreePages, stats.WalBytes, stats.HasPerTableSizes, stats.Tables });
                return 0;
            }

            var table = new Table().AddColumns("table", "rows", "table bytes", "index bytes");
            foreach (var row in stats.Tables)
            {
                table.AddRow(row.Name, Number(row.Rows), row.TableBytes is { } t ? Number(t) : "-", row.IndexBytes is { } i ? Number(i) : "-");
            }

            var sizes = stats.HasPerTableSizes ? "" : "; per-table bytes need SQLite's dbstat, which this build lacks";
            table.Caption($"{path}: {Number(stats.PageCount)} pages of {Number(stats.PageSize)} B ({Number(stats.FreePages)} free), WAL {Number(stats.WalBytes)} B{sizes}");
            Terminal.Out.Write(table);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The SQLite store file of this command line. These verbs read SQLite's own structures (pages, WAL, PRAGMAs), so
    /// --provider postgres is refused by name rather than answered from whatever SQLite file --store points at.
    /// </summary>
    private static string SqlitePath(ParseResult parse, string verb) =>
        StoreLocation.ResolveProvider(parse) == PostgresStore.Name
            ? throw new StoreOptionException(
                $"{verb} works on the SQLite store only, not on --provider postgres: `healthgrpc serve` migrates PostgreSQL on start; " +
                "check and size it with PostgreSQL's own tools (amcheck, pg_total_relation_size).")
            : StoreLocation.Resolve(parse);

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
