using System.Net;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Client.Tests;

/// <summary>
/// An app's HTTP proxy carries every connection of the SDK, a proxy that is down is a transient failure, and a proxy
/// setting that could not apply is refused instead of ignored. The server is https: .NET tunnels only TLS through a proxy.
/// </summary>
public sealed class ProxyTests
{
    /// <summary>
    /// The test server is on loopback, which the environment's proxy (<c>NO_PROXY</c>) and a <see cref="WebProxy"/> with
    /// <see cref="WebProxy.BypassProxyOnLocal"/> skip: set false explicitly so that the route through the proxy is the one under test.
    /// </summary>
    private static WebProxy Through(Uri proxy) => new(proxy) { BypassProxyOnLocal = false };

    [Fact]
    public async Task ConfiguredProxy_CarriesEveryConnection_AndSamplesAreAcked()
    {
        await using var tls = await TlsTestServer.StartAsync();
        var server = tls.Server;
        using var serverConnections = new KestrelConnections(server.Address);
        await using var proxy = ConnectProxy.Start();
        var options = TestClient.Options(
            server.Address, Path.Combine(server.Directory, "client.db"), server.Token, configureChannel: tls.TrustTestCertificate, proxy: Through(proxy.Address));
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.EnqueueAsync([TestClient.HeartRate(300)]).WaitAsync(TestClient.Timeout);
            var immediate = await client.SendImmediateAsync([TestClient.Single(DataType.HeartRateVariabilitySdnn, 40)]).WaitAsync(TestClient.Timeout);
            Assert.True(immediate.Delivered, "the tier-1 send was not acked through the proxy");
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);

            // A broken tunnel: the SDK replaces its channel, and the new connection must take the proxy as well.
            proxy.ResetAll();
            await client.EnqueueAsync([TestClient.HeartRate(200)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);

            Assert.Equal(501, await server.CountSamplesAsync());
            Assert.Equal(501, events.CommittedAccepted);
            Assert.True(proxy.ConnectTargets.Count >= 2, $"CONNECTs: {proxy.ConnectTargets.Count}, expected one per connection and at least 2");
            Assert.All(proxy.ConnectTargets, target => Assert.Equal($"127.0.0.1:{server.Address.Port}", target));
            Assert.Equal(0, proxy.Refused);
            // Every connection the server accepted came out of a tunnel: none went around the proxy.
            Assert.Equal(proxy.ConnectTargets.Count, serverConnections.Accepted);
        }
    }

    [Fact]
    public async Task ProxyDown_IsTransient_NothingLost_AndTheQueueDrainsOnceItIsUp()
    {
        await using var tls = await TlsTestServer.StartAsync();
        var server = tls.Server;
        var proxyAddress = FreePort.Reserve();
        var options = TestClient.Options(
            server.Address, Path.Combine(server.Directory, "client.db"), server.Token, configureChannel: tls.TrustTestCertificate, proxy: Through(proxyAddress));
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.EnqueueAsync([TestClient.HeartRate(400)]).WaitAsync(TestClient.Timeout);
            client.Start();
            await events.WaitForAsync(e => e.Kind == SyncEventKind.RetryScheduled && e.Attempt >= 3, TestClient.Timeout);

            Assert.Equal(0, await server.CountSamplesAsync());
            var status = await client.GetStatusAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(400, status.PendingSamples);
            Assert.Equal(0, status.QuarantinedSamples);
            Assert.Empty(events.Of(SyncEventKind.Quarantined));

            await using var proxy = ConnectProxy.Start(proxyAddress.Port);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(400, await server.CountSamplesAsync());
            Assert.Equal(400, events.CommittedAccepted);
            Assert.Equal(0, events.AllDuplicateItems);
            Assert.NotEmpty(proxy.ConnectTargets);
            Assert.Empty(events.Of(SyncEventKind.Quarantined));
        }
    }

    [Fact]
    public async Task UseProxyFalse_ConnectsDirectly_EvenWithAProxySet()
    {
        await using var server = await TestServer.StartAsync();
        var o = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token, proxy: Through(FreePort.Reserve()));
        var options = new HealthSyncOptions
        {
            ServerAddress = o.ServerAddress,
            DatabasePath = o.DatabasePath,
            AccessToken = o.AccessToken,
            RetryBaseDelay = o.RetryBaseDelay,
            RetryMaxDelay = o.RetryMaxDelay,
            IdleTimeout = o.IdleTimeout,
            Proxy = o.Proxy, // a closed port: any attempt through it would fail
            UseProxy = false,
        };
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.EnqueueAsync([TestClient.HeartRate(50)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(50, await server.CountSamplesAsync());
            Assert.Empty(events.Of(SyncEventKind.RetryScheduled));
        }
    }

    [Fact]
    public async Task ProxySetting_ThatCouldNotApply_IsRefused_NotIgnored()
    {
        var dir = TempDir.Create();
        var proxy = Through(new Uri("http://127.0.0.1:3128"));
        var withForeignHandler = new HealthSyncOptions
        {
            ServerAddress = new Uri("https://127.0.0.1:9"),
            DatabasePath = Path.Combine(dir, "a.db"),
            Proxy = proxy,
            ConfigureChannel = channel => channel.HttpHandler = new HttpClientHandler(),
        };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => HealthSyncClient.OpenAsync(withForeignHandler)).WaitAsync(TestClient.Timeout);
        Assert.Contains("HttpClientHandler", error.Message, StringComparison.Ordinal);

        // h2c never gets through an HTTP proxy in .NET (no CONNECT for http://): every call would fail with no hint why.
        var cleartext = new HealthSyncOptions { ServerAddress = new Uri("http://127.0.0.1:9"), DatabasePath = Path.Combine(dir, "b.db"), Proxy = proxy };
        error = await Assert.ThrowsAsync<ArgumentException>(() => HealthSyncClient.OpenAsync(cleartext)).WaitAsync(TestClient.Timeout);
        Assert.Contains("https://", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BoundSettings_CarryTheProxy()
    {
        var settings = new HealthSyncSettings { ServerAddress = new Uri("https://health.example.com"), ProxyAddress = new Uri("http://proxy.corp:3128") };
        using var services = new ServiceCollection().BuildServiceProvider();
        var options = settings.ToOptions(services);
        Assert.Equal(new Uri("http://proxy.corp:3128"), options.Proxy!.GetProxy(options.ServerAddress));
        Assert.True(options.UseProxy);
        Assert.False(new HealthSyncSettings { ServerAddress = settings.ServerAddress, UseProxy = false }.ToOptions(services).UseProxy);
    }
}
