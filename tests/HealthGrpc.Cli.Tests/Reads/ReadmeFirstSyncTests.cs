using System.Diagnostics;
using System.Text.Json;
using HealthGrpc.Cli.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace HealthGrpc.Cli.Tests.Reads;

/// <summary>
/// Runs the README's "first sync" block as written, so the doc cannot drift from the command. Two substitutions, both
/// checked: the block's `healthgrpc` function (which builds and runs from source) becomes one that runs the healthgrpc.dll
/// these tests built, and the README's address becomes the test server's ephemeral port.
/// </summary>
public sealed class ReadmeFirstSyncTests
{
    private const string Heading = "## A first sync in one minute";
    private const string SourceFunction = "healthgrpc() { dotnet run -c Release --project src/HealthGrpc.Cli -- \"$@\"; }";
    private const string ReadmeServer = "http://127.0.0.1:5000";

    [Fact]
    public async Task ReadmeFirstSync_RunsAsWritten_AgainstAFreshServer_AndEndsWithTheQueriedSamplesAndAFhirExport()
    {
        var block = FirstSyncBlock();
        Assert.Equal(SourceFunction, block[0]);
        Assert.All(block.Skip(1), line => Assert.DoesNotContain("node_modules", line, StringComparison.Ordinal));
        using var store = new TempStore();
        var work = Path.GetDirectoryName(store.Path)!;
        // The README's commands use the server's default store, data/healthgrpc.db under the working directory.
        using var server = await ServeProcess.StartAsync(Path.Combine(work, "data", "healthgrpc.db"));
        var dll = Path.Combine(AppContext.BaseDirectory, "healthgrpc.dll");
        var address = server.Address.ToString().TrimEnd('/');
        string[] script = ["set -euo pipefail", $"healthgrpc() {{ dotnet exec '{dll}' \"$@\"; }}", .. block.Skip(1).Select(line => line.Replace(ReadmeServer, address, StringComparison.Ordinal))];

        // Each command of the block gets the bound every other command run of these tests gets.
        var (exit, stdout, stderr) = await BashAsync(work, string.Join('\n', script), Timeouts.Default * block.Count);

        Assert.True(exit == 0, $"the README block exited {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("HeartRate", stdout, StringComparison.Ordinal);
        Assert.Matches(@"more: run again with --from \S+ --to \S+ --page-token \S+", stderr);
        var bundle = JsonSerializer.Deserialize<Bundle>(await File.ReadAllTextAsync(Path.Combine(work, "alice.fhir.json")), new JsonSerializerOptions().ForFhir())!;
        Assert.NotEmpty(bundle.Entry);
        Assert.All(bundle.Entry, e => Assert.Equal("8867-4", Assert.IsType<Observation>(e.Resource).Code.Coding.Single().Code));
    }

    /// <summary>The lines of the first ```bash block after the heading.</summary>
    private static List<string> FirstSyncBlock()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "HealthGrpc.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        var lines = File.ReadAllLines(Path.Combine(directory.FullName, "README.md"));
        var start = Array.FindIndex(lines, Array.IndexOf(lines, Heading) + 1, line => line == "```bash") + 1;
        var end = Array.IndexOf(lines, "```", start);
        Assert.True(start > 1 && end > start, $"no ```bash block under '{Heading}' in README.md");
        return [.. lines[start..end]];
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> BashAsync(string directory, string script, TimeSpan bound)
    {
        var info = new ProcessStartInfo("bash") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        info.Environment.Remove("HEALTHGRPC_TOKEN");
        using var bash = Process.Start(info)!;
        bash.StandardInput.Close();
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        try
        {
            await bash.WaitForExitAsync().WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            bash.Kill(entireProcessTree: true);
            throw;
        }

        return (bash.ExitCode, await stdout.Bounded(), await stderr.Bounded());
    }
}
