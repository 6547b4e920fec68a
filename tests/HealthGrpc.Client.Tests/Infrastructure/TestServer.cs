using System.Security.Cryptography;
using System.Text;
using HealthGrpc.Server;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>The real reference server, in-process on loopback port 0, with its own SQLite file and one user.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private TestServer(WebApplication app, Uri address, IHealthStore store, string dir)
    {
        App = app;
        Address = address;
        Store = store;
        Directory = dir;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public IHealthStore Store { get; }

    public string Directory { get; }

    public string UserId { get; } = "user-1";

    public string Token { get; private set; } = "";

    /// <summary>Starts the server; <paramref name="args"/> are further command-line settings (e.g. <c>--Ingest:MaxMessageBytes 4096</c>).</summary>
    public static async Task<TestServer> StartAsync(string? dir = null, params string[] args)
    {
        dir ??= TempDir.Create();
        var app = await ServerHost.BuildAsync(["--urls", "http://127.0.0.1:0", "--Storage:Path", Path.Combine(dir, "server.db"), "--Logging:LogLevel:Default", "Warning", .. args])
            .WaitAsync(StartTimeout);
        await app.StartAsync().WaitAsync(StartTimeout);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var server = new TestServer(app, new Uri(address), app.Services.GetRequiredService<IHealthStore>(), dir);
        server.Token = await server.AddTokenAsync(server.UserId);
        return server;
    }

    public async Task<string> AddTokenAsync(string userId)
    {
        var token = "test-" + Guid.NewGuid().ToString("N");
        await Store.AddTokenAsync(userId, SHA256.HashData(Encoding.UTF8.GetBytes(token)), CancellationToken.None).WaitAsync(StartTimeout);
        return token;
    }

    public Task<long> CountSamplesAsync() => Store.CountSamplesAsync(UserId, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
    }
}

internal static class TempDir
{
    public static string Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "healthgrpc-client-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }
}
