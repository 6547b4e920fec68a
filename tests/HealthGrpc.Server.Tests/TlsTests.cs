using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HealthGrpc.Contracts.V1;
using Grpc.Net.Client;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>TLS is configuration, not code: a Kestrel:Endpoints entry with a certificate file serves gRPC over h2 (ALPN).</summary>
public sealed class TlsTests
{
    [Fact]
    public async Task A_tls_endpoint_from_configuration_serves_sync_over_h2()
    {
        var directory = Directory.CreateTempSubdirectory("healthgrpc-tls-").FullName;
        using var certificate = SelfSigned();
        var pfx = Path.Combine(directory, "server.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test-only")).Bounded();

        await using var server = await TestServer.StartAsync(
            Path.Combine(directory, "server.db"),
            "--Kestrel:Endpoints:Tls:Url", "https://127.0.0.1:0",
            "--Kestrel:Endpoints:Tls:Certificate:Path", pfx,
            "--Kestrel:Endpoints:Tls:Certificate:Password", "test-only");
        var token = await server.CreateUserAsync("alice");
        var handler = new SocketsHttpHandler();
        // Trust exactly the certificate this test made, nothing else.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, errors) =>
            presented is not null && presented.GetCertHashString() == certificate.GetCertHashString()
            && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { HttpHandler = handler });
        var client = new SyncService.SyncServiceClient(channel);

        var response = await client.UploadAsync(Upload(HeartRate(1, NewUuids(3))), SyncApi.As(token)).Bounded();

        Assert.Equal("https", server.Address.Scheme);
        Assert.Equal(3u, response.Ack.Accepted);
        Assert.Equal(AckOutcome.Committed, response.Ack.Outcome);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
