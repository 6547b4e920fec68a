using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Server.Tests;

/// <summary>The real server host on real Kestrel (127.0.0.1, port 0) over a real SQLite file, plus a client channel and the generated client.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestServer(WebApplication app, string databasePath, Uri address)
    {
        _app = app;
        DatabasePath = databasePath;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
        Client = new SyncService.SyncServiceClient(Channel);
    }

    public string DatabasePath { get; }

    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    /// <summary>The generated client a .NET app or backend would use.</summary>
    public SyncService.SyncServiceClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public IHealthStore Store => Services.GetRequiredService<IHealthStore>();

    /// <summary>Starts a server; pass the same <paramref name="databasePath"/> to restart on existing data.</summary>
    public static Task<TestServer> StartAsync(string? databasePath = null, params string[] extraArgs) => StartAsync(databasePath, null, extraArgs);

    /// <summary>Starts a server whose builder <paramref name="configure"/> adjusts (e.g. a log capture).</summary>
    public static async Task<TestServer> StartAsync(string? databasePath, Action<WebApplicationBuilder>? configure, params string[] extraArgs)
    {
        databasePath ??= Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-server-").FullName, "server.db");
        string[] args = ["--urls", "http://127.0.0.1:0", "--Storage:Path", databasePath, "--Logging:LogLevel:Default", "Warning", .. extraArgs];
        var app = await ServerHost.BuildAsync(args, configure).Bounded();
        await app.StartAsync().Bounded();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TestServer(app, databasePath, new Uri(address));
    }

    /// <summary>Creates a user and returns a fresh bearer token for it.</summary>
    public async Task<string> CreateUserAsync(string userId)
    {
        var token = BearerTokens.Issue();
        await Store.AddTokenAsync(userId, BearerTokens.Hash(token), CancellationToken.None).Bounded();
        return token;
    }

    /// <summary>Starts a graceful stop (Kestrel stops accepting; in-flight calls get to finish).</summary>
    public Task StopAsync() => _app.StopAsync();

    /// <summary>Graceful stop: in-flight commits finish, then the store is closed.</summary>
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync().Bounded();
        await _app.DisposeAsync();
    }
}
