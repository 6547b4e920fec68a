using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using HealthGrpc.Rpc.Tests.Echo;
using Microsoft.AspNetCore.Builder;

namespace HealthGrpc.Rpc.Tests;

public sealed class ServicesTests
{
    private static readonly RpcMethod<HealthCheckRequest, HealthCheckResponse> Check = new("grpc.health.v1.Health", "Check", MethodType.Unary);
    private static readonly RpcMethod<HealthCheckRequest, HealthCheckResponse> Watch = new("grpc.health.v1.Health", "Watch", MethodType.ServerStreaming);

    [Fact]
    public async Task Health_CheckAndWatch()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var overall = await channel.UnaryAsync(Check, new HealthCheckRequest()).Timed();
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);

        var missing = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Check, new HealthCheckRequest { Service = "nope" }).Timed());
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        const string svc = "healthgrpc.rpctest.EchoService";
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        using var watch = channel.ServerStreaming(Watch, new HealthCheckRequest { Service = svc }, new CallOptions(CancellationToken: cts.Token));
        await using var updates = watch.ResponseStream.GetAsyncEnumerator();
        Assert.True(await updates.MoveNextAsync().AsTask().Timed());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.ServiceUnknown, updates.Current.Status);

        server.Health.SetStatus(svc, HealthServingStatus.Serving);
        Assert.True(await updates.MoveNextAsync().AsTask().Timed());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, updates.Current.Status);

        server.Health.SetStatus(svc, HealthServingStatus.NotServing);
        Assert.True(await updates.MoveNextAsync().AsTask().Timed());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, updates.Current.Status);

        var checkNow = await channel.UnaryAsync(Check, new HealthCheckRequest { Service = svc }).Timed();
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, checkNow.Status);
    }

    [Fact]
    public async Task ReflectionV1_ListServices_FileContainingSymbol_FileByName()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var method = new RpcMethod<Grpc.Reflection.V1.ServerReflectionRequest, Grpc.Reflection.V1.ServerReflectionResponse>(
            "grpc.reflection.v1.ServerReflection", "ServerReflectionInfo", MethodType.DuplexStreaming);
        using var call = channel.DuplexStreaming(method);
        await using var responses = call.ResponseStream.GetAsyncEnumerator();

        await call.RequestStream.WriteAsync(new() { ListServices = "" }).Timed();
        Assert.True(await responses.MoveNextAsync().AsTask().Timed());
        var names = responses.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("healthgrpc.rpctest.EchoService", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1.ServerReflection", names);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", names);

        foreach (var symbol in new[] { "healthgrpc.rpctest.EchoService", "healthgrpc.rpctest.EchoService.Duplex", "healthgrpc.rpctest.EchoRequest" })
        {
            await call.RequestStream.WriteAsync(new() { FileContainingSymbol = symbol }).Timed();
            Assert.True(await responses.MoveNextAsync().AsTask().Timed());
            var file = FileDescriptorProto.Parser.ParseFrom(responses.Current.FileDescriptorResponse.FileDescriptorProto[0]);
            Assert.Equal("echo.proto", file.Name);
            Assert.Equal("healthgrpc.rpctest", file.Package);
            Assert.Equal("EchoService", file.Service[0].Name);
        }

        await call.RequestStream.WriteAsync(new() { FileByFilename = "grpc/health/v1/health.proto" }).Timed();
        Assert.True(await responses.MoveNextAsync().AsTask().Timed());
        Assert.Equal("grpc.health.v1", FileDescriptorProto.Parser.ParseFrom(responses.Current.FileDescriptorResponse.FileDescriptorProto[0]).Package);

        await call.RequestStream.WriteAsync(new() { FileContainingSymbol = "no.such.Symbol" }).Timed();
        Assert.True(await responses.MoveNextAsync().AsTask().Timed());
        Assert.Equal((int)StatusCode.NotFound, responses.Current.ErrorResponse.ErrorCode);

        await call.RequestStream.WriteAsync(new() { FileContainingExtension = new() { ContainingType = "healthgrpc.rpctest.EchoRequest", ExtensionNumber = 100 } }).Timed();
        Assert.True(await responses.MoveNextAsync().AsTask().Timed());
        Assert.Equal((int)StatusCode.NotFound, responses.Current.ErrorResponse.ErrorCode);

        await call.RequestStream.CompleteAsync().Timed();
        Assert.False(await responses.MoveNextAsync().AsTask().Timed());
    }

    [Fact]
    public async Task ReflectionV1Alpha_FileContainingSymbol_IncludesDependencies()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var method = new RpcMethod<Grpc.Reflection.V1Alpha.ServerReflectionRequest, Grpc.Reflection.V1Alpha.ServerReflectionResponse>(
            "grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", MethodType.DuplexStreaming);
        using var call = channel.DuplexStreaming(method);
        await call.RequestStream.WriteAsync(new() { FileContainingSymbol = "grpc.health.v1.Health" }).Timed();
        await call.RequestStream.WriteAsync(new() { ListServices = "*" }).Timed();
        await call.RequestStream.CompleteAsync().Timed();
        var all = await call.ResponseStream.ToListTimedAsync();
        Assert.Equal(2, all.Count);
        Assert.Equal("grpc/health/v1/health.proto", FileDescriptorProto.Parser.ParseFrom(all[0].FileDescriptorResponse.FileDescriptorProto[0]).Name);
        Assert.Contains("grpc.health.v1.Health", all[1].ListServicesResponse.Service.Select(s => s.Name));
    }

    [Fact]
    public async Task Tls_WithSelfSignedCertificate_NegotiatesH2()
    {
        using var cert = CreateSelfSigned();
        await using var server = await TestServer.StartAsync(certificate: cert);
        Assert.Equal("https", server.Address.Scheme);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == cert.GetCertHashString();
        using var channel = server.CreateChannel(new RpcChannelOptions { HttpHandler = handler });
        var response = await channel.UnaryAsync(EchoMethods.Unary, EchoMethods.Req("protocol")).Timed();
        Assert.StartsWith("HTTP/2 https ipv4:127.0.0.1:", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binding_MissingOrWrongMethods_FailsFastWithClearMessage()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Services.AddRpc();
        await using var app = builder.Build();
        var ex = Assert.Throws<InvalidOperationException>(() => app.MapRpcService<BrokenService>(EchoMethods.Service));
        Assert.Contains("Unary", ex.Message, StringComparison.Ordinal);
        Assert.Contains("wrong signature", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no public method 'ClientStream'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("IServerStreamWriter<EchoResponse>", ex.Message, StringComparison.Ordinal);
    }

    internal static X509Certificate2 CreateSelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }

#pragma warning disable CA1822, IDE0060 // Deliberately wrong shapes for the binder test.
    private sealed class BrokenService
    {
        public EchoResponse Unary(EchoRequest request, ServerCallContext context) => new();

        public Task ServerStream(EchoRequest request, ServerCallContext context) => Task.CompletedTask;

        public Task Duplex(IAsyncEnumerable<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext context) => Task.CompletedTask;
    }
#pragma warning restore CA1822, IDE0060
}
