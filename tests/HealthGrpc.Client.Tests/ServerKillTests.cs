using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Sqlite;
using Xunit.Abstractions;

namespace HealthGrpc.Client.Tests;

/// <summary>The reference server as a child process, killed with SIGKILL and restarted several times during a drain.</summary>
public sealed class ServerKillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ServerKilledRepeatedlyDuringDrain_NothingLostNothingDuplicated_AnchorsAtLatest()
    {
        var dir = TempDir.Create();
        var serverDb = Path.Combine(dir, "server.db");
        var port = FreePort();
        var token = (await RunToEndAsync("create-user", "user-1", "--store", serverDb)).Trim();
        var server = StartServer(port, serverDb);
        var source = new SimulatedSource([DataType.HeartRate, DataType.Steps], DateTimeOffset.UtcNow.AddDays(-2));
        source.Append(DataType.HeartRate, 150_000);
        source.Append(DataType.Steps, 20_000);
        var options = TestClient.Options(new Uri($"http://127.0.0.1:{port}"), Path.Combine(dir, "client.db"), token, maxSamplesPerBatch: 2000);
        options.Sources.Add(source);
        var (client, events) = await TestClient.OpenAsync(options);
        try
        {
            await using (client)
            {
                await WaitForPortAsync(port);
                var drain = client.DrainAsync(includeCatchUp: false);
                for (var kill = 0; kill < 3; kill++)
                {
                    await events.WaitForAsync(e => e.Kind == SyncEventKind.Acked && e.BatchSeq >= (ulong)(10 + (kill * 20)), TestClient.Timeout);
                    server.Kill(entireProcessTree: true); // SIGKILL
                    await server.WaitForExitAsync().WaitAsync(TestClient.Timeout);
                    server.Dispose();
                    output.WriteLine($"killed the server after ack {events.Of(SyncEventKind.Acked).Max(e => e.BatchSeq)}");
                    await Task.Delay(300);
                    server = StartServer(port, serverDb);
                }

                await drain.WaitAsync(TimeSpan.FromMinutes(5));
                var anchors = await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout);
                Assert.Equal(source.LatestAnchor(DataType.HeartRate), anchors.Single(a => a.Type == DataType.HeartRate).Anchor);
                Assert.Equal(source.LatestAnchor(DataType.Steps), anchors.Single(a => a.Type == DataType.Steps).Anchor);
                Assert.Equal(170_000, events.AllAccepted);
                Assert.Equal(0, events.AllDuplicateItems);
                output.WriteLine($"retries {events.Of(SyncEventKind.RetryScheduled).Count()}, duplicate acks {events.DuplicateAcks}, sends {events.Of(SyncEventKind.Sent).Count()}");
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TestClient.Timeout);
            server.Dispose();
        }

        await using var store = await SqliteHealthStore.OpenAsync(serverDb).WaitAsync(TestClient.Timeout);
        Assert.Equal(170_000, await store.CountSamplesAsync("user-1", CancellationToken.None).WaitAsync(TestClient.Timeout));
    }

    private static string ServerPath => Path.Combine(AppContext.BaseDirectory, "HealthGrpc.Server");

    private static Process StartServer(int port, string db)
    {
        var psi = new ProcessStartInfo(ServerPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--urls", $"http://127.0.0.1:{port}", "--Storage:Path", db, "--Logging:LogLevel:Default", "Warning" })
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

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
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
