using System.Net;
using HealthGrpc.Interop.Tests.Infrastructure;
using HealthGrpc.Interop.Tests.Testing;
using HealthGrpc.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthGrpc.Interop.Tests.Server;

/// <summary>Real Kestrel on 127.0.0.1, port 0, serving grpc.testing.TestService plus health and reflection (h2c or TLS).</summary>
internal sealed class InteropServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InteropServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<InteropServer> StartAsync(TestCertificate? tls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.UseRpcDefaults();
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (tls is null)
                {
                    listen.UseRpcH2c();
                }
                else
                {
                    listen.UseRpcTls(tls.Certificate);
                }
            });
        });
        builder.Services.AddRpc(o => o.EnableDetailedErrors = true);
        builder.Services.AddSingleton<InteropTestService>();

        var app = builder.Build();
        app.Use(RequestFlagRecorder.Middleware);
        app.MapRpcService<InteropTestService>(TestReflection.Descriptor.Services.Single(s => s.FullName == "grpc.testing.TestService"));
        app.MapRpcHealthAndReflection();
        await app.StartAsync().WithTimeout();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new InteropServer(app, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync().WithTimeout(TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
            // Disposal below tears the listener down regardless.
        }

        await _app.DisposeAsync();
    }
}
