using Microsoft.Data.Sqlite;

namespace HealthGrpc.Interop.Tests.Infrastructure;

/// <summary>
/// The real HealthGrpc server as a child process (`dotnet exec healthgrpc.dll serve`, the command users run) on an
/// ephemeral loopback port, with its own SQLite file in a temp directory, and the users it was given tokens for.
/// </summary>
internal sealed class HealthGrpcServer : IAsyncDisposable
{
    private const string Listening = "Now listening on: ";
    private readonly ExternalProcess _process;
    private readonly DirectoryInfo _directory;
    private readonly Dictionary<string, string> _tokens;

    private HealthGrpcServer(ExternalProcess process, DirectoryInfo directory, string databasePath, Uri address, Dictionary<string, string> tokens)
    {
        _process = process;
        _directory = directory;
        DatabasePath = databasePath;
        Address = address;
        _tokens = tokens;
    }

    public Uri Address { get; }

    /// <summary>host:port, as grpc-js takes it.</summary>
    public string Target => $"{Address.Host}:{Address.Port}";

    public string DatabasePath { get; }

    public string TokenOf(string userId) =>
        _tokens.TryGetValue(userId, out var token) ? token : throw new InvalidOperationException($"No token was created for user '{userId}'.");

    /// <summary>What the server's output says so far (for failure messages).</summary>
    public string Describe() => _process.Describe();

    /// <summary>Creates the users (one `user create --issue-token` run each, before the server holds the file), then starts the server.</summary>
    public static async Task<HealthGrpcServer> StartAsync(IEnumerable<string> userIds)
    {
        if (!File.Exists(RepoPaths.ServerDll))
        {
            throw new InvalidOperationException($"{RepoPaths.ServerDll} is missing: the project reference to HealthGrpc.Cli should copy it.");
        }

        var directory = Directory.CreateTempSubdirectory("healthgrpc-interop-");
        var databasePath = Path.Combine(directory.FullName, "healthgrpc.db");
        try
        {
            var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var userId in userIds)
            {
                tokens[userId] = await CreateUserAsync(databasePath, userId);
            }

            var process = ExternalProcess.Start(
                "dotnet",
                ["exec", RepoPaths.ServerDll, "serve", "--urls", "http://127.0.0.1:0", "--store", databasePath],
                directory.FullName,
                new Dictionary<string, string> { ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information" });
            try
            {
                var address = await WaitUntilListeningAsync(process);
                return new HealthGrpcServer(process, directory, databasePath, address, tokens);
            }
            catch
            {
                await process.DisposeAsync();
                throw;
            }
        }
        catch
        {
            directory.Delete(recursive: true);
            throw;
        }
    }

    private static async Task<string> CreateUserAsync(string databasePath, string userId)
    {
        await using var process = ExternalProcess.Start("dotnet", ["exec", RepoPaths.ServerDll, "user", "create", userId, "--issue-token", "--store", databasePath], RepoPaths.Root);
        var exit = await process.WaitForExitAsync(Timeouts.Process);
        var token = process.Stdout.Trim();
        if (exit != 0 || token.Length == 0 || token.Contains('\n', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"`{process.CommandLine}` exited with {exit} without printing one token.{process.Describe()}");
        }

        return token;
    }

    private static async Task<Uri> WaitUntilListeningAsync(ExternalProcess process)
    {
        while (await process.ReadLineAsync(Timeouts.Step) is { } line)
        {
            var at = line.IndexOf(Listening, StringComparison.Ordinal);
            if (at >= 0)
            {
                return new Uri(line[(at + Listening.Length)..].Trim());
            }
        }

        throw new InvalidOperationException($"The server exited before it listened.{process.Describe()}");
    }

    /// <summary>What the database holds for a user, read with a separate read-only connection.</summary>
    public StoredCounts StoredFor(string userId)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT
              (SELECT COUNT(*) FROM samples WHERE user_ref = u.id),
              (SELECT COUNT(*) FROM series WHERE user_ref = u.id),
              (SELECT COALESCE(SUM(point_count), 0) FROM series WHERE user_ref = u.id),
              (SELECT COUNT(*) FROM tombstones WHERE user_ref = u.id),
              (SELECT COALESCE(group_concat(start_ms || '-' || end_ms, ','), '') FROM (SELECT start_ms, end_ms FROM series WHERE user_ref = u.id ORDER BY start_ms))
            FROM users u WHERE u.user_id = $user
            """;
        command.Parameters.AddWithValue("$user", userId);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            throw new InvalidOperationException($"User '{userId}' is not in {DatabasePath}.");
        }

        return new StoredCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4));
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}

/// <summary>Rows of one user: samples, series, their points, tombstones, and the series' "start-end" spans in ms.</summary>
internal sealed record StoredCounts(long Samples, long Series, long SeriesPoints, long Tombstones, string SeriesSpans);
