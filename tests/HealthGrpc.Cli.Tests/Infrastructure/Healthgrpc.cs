using System.Diagnostics;
using System.Text.Json;

namespace HealthGrpc.Cli.Tests.Infrastructure;

/// <summary>What one run of the command printed and how it exited.</summary>
internal sealed record CliRun(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    public CliRun Succeeded()
    {
        Assert.True(ExitCode == 0, $"`{CommandLine}` exited {ExitCode}:\n{Stdout}\n{Stderr}");
        return this;
    }

    public JsonElement Json() => JsonDocument.Parse(Stdout).RootElement;
}

/// <summary>The built `healthgrpc` command (healthgrpc.dll next to the tests) as a child process.</summary>
internal static class Healthgrpc
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "healthgrpc.dll");

    /// <summary>Runs `healthgrpc args...` to its end.</summary>
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().Bounded();
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new CliRun(string.Join(' ', args), process.ExitCode, await stdout.Bounded(), await stderr.Bounded());
    }

    /// <summary>Creates the user and returns a token printed by `healthgrpc user create ID --issue-token`.</summary>
    public static async Task<string> CreateUserWithTokenAsync(string store, string userId, params string[] extra)
    {
        var run = (await RunAsync(["user", "create", userId, "--issue-token", "--store", store, .. extra])).Succeeded();
        return run.Stdout.Trim();
    }

    public static Process Start(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        return Process.Start(info) ?? throw new InvalidOperationException("could not start healthgrpc");
    }
}
