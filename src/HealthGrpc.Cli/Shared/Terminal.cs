using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace HealthGrpc.Cli.Shared;

/// <summary>Output for people (Spectre.Console tables on stdout) or for scripts (`--json`: one JSON document on stdout).</summary>
internal static class Terminal
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Option<bool> JsonOption { get; } = new("--json") { Description = "Print JSON for scripts instead of a table" };

    /// <summary>stdout; when it is not a terminal (a pipe, a file, a test) tables are not cut to 80 columns.</summary>
    public static IAnsiConsole Out { get; } = Create(Console.Out, Console.IsOutputRedirected);

    /// <summary>Messages for people go to stderr, so stdout stays the result (a token, a table, JSON).</summary>
    public static IAnsiConsole Error { get; } = Create(Console.Error, Console.IsErrorRedirected);

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>Writes an error for people to stderr and returns the exit code 1.</summary>
    public static int Fail(string message)
    {
        Error.MarkupLineInterpolated($"[red]error:[/] {message}");
        return 1;
    }

    public static string Time(DateTimeOffset? time) => time?.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) ?? "-";

    private static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        if (redirected)
        {
            console.Profile.Width = 200;
        }

        return console;
    }
}
