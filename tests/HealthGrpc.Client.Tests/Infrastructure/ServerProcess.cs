using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>The reference server (the shipped executable) as a child process: killable, and with memory of its own.</summary>
internal static class ServerProcess
{
    private static string ServerPath => Path.Combine(AppContext.BaseDirectory, "healthgrpc");

    public static Process Start(int port, string db)
    {
        var psi = new ProcessStartInfo(ServerPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "serve", "--urls", $"http://127.0.0.1:{port}", "--store", db, "--Logging:LogLevel:Default", "Warning" })
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs `healthgrpc user create --issue-token` on the file and returns the printed token.</summary>
    public static async Task<string> CreateUserAsync(string db, string userId) => (await RunToEndAsync("user", "create", userId, "--issue-token", "--store", db)).Trim();

    private static async Task<string> RunToEndAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(ServerPath) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var text = await p.StandardOutput.ReadToEndAsync().WaitAsync(TestClient.Timeout);
        await p.WaitForExitAsync().WaitAsync(TestClient.Timeout);
        Assert.Equal(0, p.ExitCode);
        return text;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static async Task WaitForPortAsync(int port)
    {
        var deadline = DateTime.UtcNow + TestClient.Timeout;
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(2));
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
