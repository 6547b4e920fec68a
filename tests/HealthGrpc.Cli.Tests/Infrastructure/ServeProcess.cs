using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Tests.Infrastructure;

/// <summary>`healthgrpc serve` on an ephemeral loopback port over a store file, with a client channel to it.</summary>
internal sealed class ServeProcess : IDisposable
{
    private const string Listening = "Now listening on: ";
    private readonly Process _process;

    private ServeProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
        Client = new SyncService.SyncServiceClient(Channel);
    }

    /// <summary>The http:// address the server listens on.</summary>
    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    public SyncService.SyncServiceClient Client { get; }

    public static async Task<ServeProcess> StartAsync(string store, params string[] extra)
    {
        var process = Healthgrpc.Start(["serve", "--urls", "http://127.0.0.1:0", "--store", store, .. extra]);
        while (await process.StandardOutput.ReadLineAsync().Bounded() is { } line)
        {
            var at = line.IndexOf(Listening, StringComparison.Ordinal);
            if (at >= 0)
            {
                // Keep draining stdout so the child never blocks on a full pipe.
                _ = process.StandardOutput.ReadToEndAsync();
                return new ServeProcess(process, new Uri(line[(at + Listening.Length)..].Trim()));
            }
        }

        var error = await process.StandardError.ReadToEndAsync().Bounded();
        process.Dispose();
        throw new Xunit.Sdk.XunitException($"healthgrpc serve exited before listening: {error}");
    }

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    public void Dispose()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(Timeouts.Default);
        }

        _process.Dispose();
    }
}
