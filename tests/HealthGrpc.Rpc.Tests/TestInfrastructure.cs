using System.Net;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using HealthGrpc.Rpc.Tests.Echo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthGrpc.Rpc.Tests;

internal static class TestTimeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    public static Task<T> Timed<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task Timed(this Task task) => task.WaitAsync(Default);

    public static async Task<List<T>> ToListTimedAsync<T>(this IAsyncEnumerable<T> source)
    {
        using var cts = new CancellationTokenSource(Default);
        var list = new List<T>();
        await foreach (var item in source.WithCancellation(cts.Token))
        {
            list.Add(item);
        }

        return list;
    }
}

internal static class EchoMethods
{
    public static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = EchoReflection.Descriptor.Services[0];
    public static readonly RpcMethod<EchoRequest, EchoResponse> Unary = RpcMethod<EchoRequest, EchoResponse>.From(Service.FindMethodByName("Unary"));
    public static readonly RpcMethod<EchoRequest, EchoResponse> ClientStream = RpcMethod<EchoRequest, EchoResponse>.From(Service.FindMethodByName("ClientStream"));
    public static readonly RpcMethod<EchoRequest, EchoResponse> ServerStream = RpcMethod<EchoRequest, EchoResponse>.From(Service.FindMethodByName("ServerStream"));
    public static readonly RpcMethod<EchoRequest, EchoResponse> Duplex = new("healthgrpc.rpctest.EchoService", "Duplex", MethodType.DuplexStreaming);

    public static EchoRequest Req(string text, int payloadBytes = 0, int count = 0) =>
        new() { Text = text, Payload = ByteString.CopyFrom(new byte[payloadBytes]), Count = count };
}

/// <summary>Shared observations from handlers (singleton per test server).</summary>
internal sealed class TestState
{
    public TaskCompletionSource<bool> HandlerCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource HandlerStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<DateTime> ObservedDeadline { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal sealed class DomainRuleException(string message) : Exception(message);

internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public TestState State => App.Services.GetRequiredService<TestState>();

    public HealthStatusService Health => App.Services.GetRequiredService<HealthStatusService>();

    public static async Task<TestServer> StartAsync(Action<RpcServerOptions>? configure = null, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.UseRpcDefaults();
            k.Listen(IPAddress.Loopback, 0, l =>
            {
                if (certificate is null)
                {
                    l.UseRpcH2c();
                }
                else
                {
                    l.UseRpcTls(certificate);
                }
            });
        });
        builder.Services.AddRpc(o =>
        {
            o.ExceptionMapper = ex => ex is DomainRuleException d ? new RpcException(StatusCode.FailedPrecondition, d.Message) : null;
            configure?.Invoke(o);
        });
        builder.Services.AddSingleton<TestState>();
        var app = builder.Build();
        app.MapRpcService<EchoServiceImpl>(EchoMethods.Service);
        app.MapRpcHealthAndReflection();
        await app.StartAsync().Timed();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var address = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        if (certificate is not null)
        {
            address = new UriBuilder(address) { Scheme = "https", Host = "localhost" }.Uri;
        }

        return new TestServer(app, address);
    }

    public RpcChannel CreateChannel(RpcChannelOptions? options = null) => RpcChannel.Create(Address, options);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().Timed();
        await App.DisposeAsync();
    }
}
