using System.Diagnostics;
using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// The real server as a child process (`healthgrpc serve`, the command users run), so a test can SIGKILL it and
/// prove that durability does not depend on a graceful shutdown.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private static readonly string ServerDll = Path.Combine(AppContext.BaseDirectory, "healthgrpc.dll");
    private readonly Process _process;

    private ServerProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
        Client = new SyncService.SyncServiceClient(Channel);
    }

    public Uri Address { get; }

    /// <summary>What the server printed up to "Now listening on".</summary>
    public IReadOnlyList<string> StartupLog { get; private init; } = [];

    public GrpcChannel Channel { get; }

    public SyncService.SyncServiceClient Client { get; }

    /// <summary>Runs `healthgrpc user create --issue-token` against the file and returns the printed token.</summary>
    public static async Task<string> CreateUserAsync(string databasePath, string userId)
    {
        using var process = Start(null, "user", "create", userId, "--issue-token", "--store", databasePath);
        var token = (await process.StandardOutput.ReadToEndAsync().Bounded()).Trim();
        await process.WaitForExitAsync().Bounded();
        Assert.True(process.ExitCode == 0, $"user create failed: {await process.StandardError.ReadToEndAsync()}");
        return token;
    }

    /// <summary>Starts `healthgrpc serve` on an ephemeral loopback port and waits until it listens.</summary>
    public static async Task<ServerProcess> StartAsync(string databasePath, string? workingDirectory = null)
    {
        var process = Start(workingDirectory, "serve", "--urls", "http://127.0.0.1:0", "--store", databasePath);
        const string listening = "Now listening on: ";
        var startupLog = new List<string>();
        while (await process.StandardOutput.ReadLineAsync().Bounded() is { } line)
        {
            startupLog.Add(line);
            var at = line.IndexOf(listening, StringComparison.Ordinal);
            if (at >= 0)
            {
                // Keep draining stdout so the child never blocks on a full pipe.
                _ = process.StandardOutput.ReadToEndAsync();
                return new ServerProcess(process, new Uri(line[(at + listening.Length)..].Trim())) { StartupLog = startupLog };
            }
        }

        throw new Xunit.Sdk.XunitException($"server exited before listening: {await process.StandardError.ReadToEndAsync()}");
    }

    /// <summary>SIGKILL: no shutdown hooks, no flush, no goodbye.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(TestTimeouts.Default);
    }

    public void Dispose()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private static Process Start(string? workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(ServerDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the server process");
    }
}
