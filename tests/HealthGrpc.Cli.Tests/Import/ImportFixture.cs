using System.Text.Json;
using HealthGrpc.Cli.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Cli.Tests.Import;

/// <summary>A served store with a user and token, a directory for exports and import state, and the store's sample counts.</summary>
internal sealed class ImportFixture : IDisposable
{
    private readonly TempStore _store;
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("healthgrpc-import-");

    private ImportFixture(TempStore store, ServeProcess server, string token)
    {
        _store = store;
        Server = server;
        Token = token;
    }

    public ServeProcess Server { get; }

    public string Token { get; }

    public string StateDirectory => Path.Combine(_work.FullName, "state");

    /// <summary>Exports generated in the past: the server refuses samples from the future.</summary>
    public static DateTimeOffset Origin { get; } = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-400);

    public static async Task<ImportFixture> StartAsync()
    {
        var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        return new ImportFixture(store, await ServeProcess.StartAsync(store.Path), token);
    }

    public string StorePath => _store.Path;

    public string File(string name) => Path.Combine(_work.FullName, name);

    public string[] ImportArgs(string export, params string[] extra) =>
        ["import", "apple-health", export, "--server", Server.Address.ToString(), "--token", Token, "--state-dir", StateDirectory, .. extra];

    /// <summary>Stored samples per DataType number, read from the server's SQLite file.</summary>
    public Dictionary<int, int> StoredByType()
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT type, COUNT(*) FROM samples GROUP BY type";
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<int, int>();
        while (reader.Read())
        {
            counts[reader.GetInt32(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    /// <summary>Stored series and their points, read from the server's SQLite file.</summary>
    public (int Series, long Points) StoredSeries()
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COALESCE(SUM(point_count), 0) FROM series";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt32(0), reader.GetInt64(1));
    }

    /// <summary>Stored samples that have the same content as another stored sample (a duplicated import would make them).</summary>
    public int ContentDuplicates()
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) - (SELECT COUNT(*) FROM (SELECT DISTINCT type, start_ms, end_ms, quantity, category, unit_ref, source_ref FROM samples)) FROM samples";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        Server.Dispose();
        _store.Dispose();
        _work.Delete(recursive: true);
    }
}

/// <summary>The `--json` summary of one import, by row.</summary>
internal sealed class ImportSummaryJson(JsonElement root)
{
    public JsonElement Row(string type) =>
        root.GetProperty("rows").EnumerateArray().FirstOrDefault(r => r.GetProperty("type").GetString() == type) is { ValueKind: JsonValueKind.Object } row
            ? row
            : throw new Xunit.Sdk.XunitException($"no row '{type}' in the summary: {root}");

    public long Get(string type, string column) => Row(type).GetProperty(column).GetInt64();

    public long Reason(string type, string column, string reason) =>
        Row(type).GetProperty(column).TryGetProperty(reason, out var n) ? n.GetInt64() : 0;

    public long Sum(string column) => root.GetProperty("rows").EnumerateArray().Sum(r => r.GetProperty(column).GetInt64());

    public IEnumerable<JsonElement> Rows => root.GetProperty("rows").EnumerateArray();
}
