using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using HealthGrpc.Rpc.Internal;

namespace HealthGrpc.Rpc.Tests;

/// <summary>Raw HTTP/2 requests against the server, checking the exact wire answers.</summary>
public sealed class WireTests
{
    private static async Task<(HttpResponseMessage Response, byte[] Body)> PostAsync(
        TestServer server, string path, byte[] body, string contentType = "application/grpc", Action<HttpRequestMessage>? configure = null)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Address, path)) { Content = new ByteArrayContent(body), Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        configure?.Invoke(request);
        var response = await client.SendAsync(request).Timed();
        var bytes = await response.Content.ReadAsByteArrayAsync().Timed();
        return (response, bytes);
    }

    private static string? Header(HttpHeaders headers, string name) => headers.TryGetValues(name, out var v) ? string.Join(",", v) : null;

    private static byte[] Frame(IMessage m) => GrpcFraming.ToFramedArray(m, null, false);

    private const string UnaryPath = "/healthgrpc.rpctest.EchoService/Unary";

    [Fact]
    public async Task NonGrpcContentType_Is415()
    {
        await using var server = await TestServer.StartAsync();
        var (response, _) = await PostAsync(server, UnaryPath, Frame(EchoMethods.Req("x")), "application/json");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task GrpcProtoContentType_IsAccepted_AndOkHasTrailers()
    {
        await using var server = await TestServer.StartAsync();
        var (response, body) = await PostAsync(server, UnaryPath, Frame(EchoMethods.Req("x")), "application/grpc+proto");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(Header(response.Headers, "grpc-status"));
        Assert.Equal("0", Header(response.TrailingHeaders, "grpc-status"));
        Assert.True(body.Length > 5);
    }

    [Fact]
    public async Task EarlyError_IsTrailersOnly()
    {
        await using var server = await TestServer.StartAsync();
        var (response, body) = await PostAsync(server, UnaryPath, Frame(EchoMethods.Req("fail:PermissionDenied:nope 100%")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("7", Header(response.Headers, "grpc-status"));
        Assert.Equal("nope 100%25", Header(response.Headers, "grpc-message"));
        Assert.Equal("1", Header(response.Headers, "x-fail"));
        Assert.Empty(body);
        Assert.Empty(response.TrailingHeaders);
    }

    [Theory]
    [InlineData("1x")]
    [InlineData("123456789S")]
    [InlineData("S")]
    [InlineData("-5m")]
    public async Task MalformedTimeout_IsTrailersOnlyInternal(string timeout)
    {
        await using var server = await TestServer.StartAsync();
        var (response, body) = await PostAsync(server, UnaryPath, Frame(EchoMethods.Req("x")), configure: r => r.Headers.TryAddWithoutValidation("grpc-timeout", timeout));
        Assert.Equal("13", Header(response.Headers, "grpc-status"));
        Assert.Contains("grpc-timeout", Header(response.Headers, "grpc-message"), StringComparison.Ordinal);
        Assert.Empty(body);
    }

    [Fact]
    public async Task ValidTimeout_IsAccepted()
    {
        await using var server = await TestServer.StartAsync();
        var (response, _) = await PostAsync(server, UnaryPath, Frame(EchoMethods.Req("x")), configure: r => r.Headers.TryAddWithoutValidation("grpc-timeout", "1H"));
        Assert.Equal("0", Header(response.TrailingHeaders, "grpc-status"));
    }

    [Fact]
    public async Task UnsupportedEncoding_IsUnimplementedWithAcceptEncoding()
    {
        await using var server = await TestServer.StartAsync();
        var (response, _) = await PostAsync(server, UnaryPath, Frame(EchoMethods.Req("x")), configure: r => r.Headers.TryAddWithoutValidation("grpc-encoding", "br"));
        Assert.Equal("12", Header(response.Headers, "grpc-status"));
        Assert.Equal("identity,gzip", Header(response.Headers, "grpc-accept-encoding"));
    }

    [Fact]
    public async Task CompressedFlagWithoutEncoding_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var gz = GrpcFraming.ToFramedArray(EchoMethods.Req("x"), null, gzip: true);
        var (response, _) = await PostAsync(server, UnaryPath, gz);
        Assert.Equal("13", Header(response.Headers, "grpc-status"));
    }

    [Fact]
    public async Task TruncatedRequestFrame_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var frame = Frame(EchoMethods.Req("truncated payload"));
        var (response, _) = await PostAsync(server, UnaryPath, frame[..^3]);
        Assert.Equal("13", Header(response.Headers, "grpc-status"));
    }

    [Fact]
    public async Task UnknownPath_IsTrailersOnlyUnimplemented_NonGrpcIs404()
    {
        await using var server = await TestServer.StartAsync();
        var (grpc, _) = await PostAsync(server, "/pkg.Nope/Call", Frame(EchoMethods.Req("x")));
        Assert.Equal(HttpStatusCode.OK, grpc.StatusCode);
        Assert.Equal("12", Header(grpc.Headers, "grpc-status"));
        var (plain, _) = await PostAsync(server, "/pkg.Nope/Call", [1, 2, 3], "text/plain");
        Assert.Equal(HttpStatusCode.NotFound, plain.StatusCode);
    }

    [Fact]
    public async Task Client_MapsNonOkHttpStatus()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = RpcChannel.Create(new Uri(server.Address, "/"));
        var method = new RpcMethod<Echo.EchoRequest, Echo.EchoResponse>("x", "y", MethodType.Unary);

        // A non-gRPC request to the catch-all with a gRPC client is UNIMPLEMENTED (trailers-only); a 415 becomes UNKNOWN.
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(method, EchoMethods.Req("x")).Timed());
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }
}
