using HealthGrpc.Cli.Tests.Infrastructure;
using HealthGrpc.Storage.Sqlite;

namespace HealthGrpc.Cli.Tests;

public sealed class DbCommandTests
{
    [Fact]
    public async Task DbMigrate_NewStore_AppliesEveryMigrationOnce_ThenCheckIsOk()
    {
        using var store = new TempStore();

        var first = (await Healthgrpc.RunAsync("db", "migrate", "--json", "--store", store.Path)).Succeeded().Json();
        var second = (await Healthgrpc.RunAsync("db", "migrate", "--json", "--store", store.Path)).Succeeded().Json();
        var check = (await Healthgrpc.RunAsync("db", "check", "--json", "--store", store.Path)).Succeeded().Json();

        Assert.Equal(SqliteSchema.Migrations.Count, first.GetProperty("applied").GetInt32());
        Assert.Equal(0, second.GetProperty("applied").GetInt32());
        Assert.Equal(SqliteSchema.LatestVersion, check.GetProperty("version").GetInt32());
        Assert.Equal(SqliteSchema.LatestVersion, check.GetProperty("latest").GetInt32());
        Assert.Equal("ok", check.GetProperty("integrity").GetString());
    }

    [Fact]
    public async Task DbCheck_DamagedFile_ExitsNonZeroAndSaysSo()
    {
        using var store = new TempStore();
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            await Healthgrpc.CreateUserWithTokenAsync(store.Path, user);
        }

        Assert.Equal(0, (await Healthgrpc.RunAsync("db", "check", "--store", store.Path)).Succeeded().ExitCode);
        // Garbage over every page after the schema page (the WAL was checkpointed into the file when the last connection closed).
        Assert.False(File.Exists(store.Path + "-wal") && new FileInfo(store.Path + "-wal").Length > 0, "the WAL should have been checkpointed");
        var bytes = await File.ReadAllBytesAsync(store.Path).Bounded();
        for (var i = 8192 * 2; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i * 31);
        }

        await File.WriteAllBytesAsync(store.Path, bytes).Bounded();

        var run = await Healthgrpc.RunAsync("db", "check", "--store", store.Path);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("DAMAGED", run.Stdout + run.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task DbStats_ReportsRowCountsAndSizesPerTable()
    {
        using var store = new TempStore();
        await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        await Healthgrpc.CreateUserWithTokenAsync(store.Path, "bob");
        (await Healthgrpc.RunAsync("token", "create", "bob", "--store", store.Path)).Succeeded();

        var stats = (await Healthgrpc.RunAsync("db", "stats", "--json", "--store", store.Path)).Succeeded().Json();
        var table = (await Healthgrpc.RunAsync("db", "stats", "--store", store.Path)).Succeeded().Stdout;

        var tables = stats.GetProperty("tables").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(2, tables["users"].GetProperty("rows").GetInt64());
        Assert.Equal(3, tables["tokens"].GetProperty("rows").GetInt64());
        Assert.Equal(0, tables["samples"].GetProperty("rows").GetInt64());
        if (stats.GetProperty("hasPerTableSizes").GetBoolean())
        {
            Assert.True(tables["users"].GetProperty("tableBytes").GetInt64() > 0);
            Assert.True(tables["users"].GetProperty("indexBytes").GetInt64() > 0, "users has a unique index on user_id");
        }
        else
        {
            Assert.All(tables.Values, t => Assert.Equal(System.Text.Json.JsonValueKind.Null, t.GetProperty("tableBytes").ValueKind));
        }

        // The last connection checkpointed the WAL into the file: the pages are the whole file.
        Assert.Equal(new FileInfo(store.Path).Length, stats.GetProperty("pageCount").GetInt64() * stats.GetProperty("pageSize").GetInt64());
        Assert.Contains("tokens", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DbCheck_MissingStore_ExitsOneAndCreatesNothing()
    {
        using var store = new TempStore();

        var run = await Healthgrpc.RunAsync("db", "check", "--store", store.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no store at", run.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(store.Path));
    }
}
