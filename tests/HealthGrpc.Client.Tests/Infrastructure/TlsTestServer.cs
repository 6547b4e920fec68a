using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>
/// The real server behind TLS (https://127.0.0.1, a self-signed certificate made for the test) and a channel setting
/// that trusts exactly that certificate. Needed where h2c cannot go: through an HTTP proxy (.NET tunnels only TLS).
/// </summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private const string PfxPassword = "test-only";
    private readonly X509Certificate2 _certificate;

    private TlsTestServer(TestServer server, X509Certificate2 certificate)
    {
        Server = server;
        _certificate = certificate;
    }

    public TestServer Server { get; }

    public static async Task<TlsTestServer> StartAsync()
    {
        var dir = TempDir.Create();
        var certificate = SelfSigned();
        var pfx = Path.Combine(dir, "server.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, PfxPassword)).WaitAsync(TestServer.StartTimeout);
        var server = await TestServer.StartAsync(
            dir,
            "--Kestrel:Endpoints:Tls:Url", "https://127.0.0.1:0",
            "--Kestrel:Endpoints:Tls:Certificate:Path", pfx,
            "--Kestrel:Endpoints:Tls:Certificate:Password", PfxPassword);
        return new TlsTestServer(server, certificate);
    }

    /// <summary>A <see cref="HealthSyncOptions.ConfigureChannel"/> whose handler trusts the test certificate and nothing else.</summary>
    public void TrustTestCertificate(GrpcChannelOptions channel)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, errors) =>
            presented is not null && presented.GetCertHashString() == _certificate.GetCertHashString()
            && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
        channel.HttpHandler = handler;
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _certificate.Dispose();
    }
}
