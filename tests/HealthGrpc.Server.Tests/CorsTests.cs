using System.Net;
using System.Net.Http.Headers;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// Cors:*: what a browser on another origin needs before it lets a page call the gRPC-Web and JSON routes, asked of
/// the real server over plain HTTP/1.1 the way a browser asks (a preflight OPTIONS, then the call with an Origin).
/// </summary>
public sealed class CorsTests
{
    private const string AllowedOrigin = "https://app.example";
    private const string OtherOrigin = "https://evil.example";
    private const string GetCheckpoint = "/healthgrpc.v1.SyncService/GetCheckpoint";
    private const string JsonUpload = "/v1/uploads";
    private static readonly string[] GrpcWebRequestHeaders = ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization"];
    private static readonly string[] GrpcStatusHeaders = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

    private static readonly HttpClient Http = new() { Timeout = TestTimeouts.Default };

    private static Task<HttpJsonServer> StartAsync(params string[] cors) =>
        HttpJsonServer.StartAsync(["--Server:GrpcWeb", "true", "--Server:JsonTranscoding", "true", .. cors]);

    [Fact]
    public async Task A_preflight_from_an_allowed_origin_allows_the_grpc_web_headers_for_grpc_web_and_json_routes()
    {
        await using var server = await StartAsync("--Cors:AllowedOrigins", $"https://other.example, {AllowedOrigin}");

        foreach (var path in new[] { GetCheckpoint, JsonUpload })
        {
            using var preflight = await PreflightAsync(server, path, AllowedOrigin);

            Assert.True(preflight.IsSuccessStatusCode, $"{path}: preflight answered {(int)preflight.StatusCode}");
            Assert.Equal(AllowedOrigin, Header(preflight, "Access-Control-Allow-Origin"));
            Assert.Contains("post", HeaderList(preflight, "Access-Control-Allow-Methods"));
            Assert.All(GrpcWebRequestHeaders, header => Assert.Contains(header, HeaderList(preflight, "Access-Control-Allow-Headers")));
            // Cookies are not asked for: the bearer token travels in the authorization header.
            Assert.Null(Header(preflight, "Access-Control-Allow-Credentials"));
        }
    }

    [Fact]
    public async Task A_grpc_web_call_from_an_allowed_origin_exposes_the_grpc_status_headers_to_the_page()
    {
        await using var server = await StartAsync("--Cors:AllowedOrigins", AllowedOrigin);

        // Unauthenticated: a trailers-only answer, the gRPC status in the response headers a page may only read when exposed.
        using var call = await GrpcWebCallAsync(server, AllowedOrigin);

        Assert.Equal("16", Header(call, "grpc-status"));
        Assert.Equal(AllowedOrigin, Header(call, "Access-Control-Allow-Origin"));
        Assert.All(GrpcStatusHeaders, header => Assert.Contains(header, HeaderList(call, "Access-Control-Expose-Headers")));
    }

    [Fact]
    public async Task An_origin_not_listed_gets_no_access_while_the_listed_one_does()
    {
        await using var server = await StartAsync("--Cors:AllowedOrigins", AllowedOrigin);

        using var foreignPreflight = await PreflightAsync(server, GetCheckpoint, OtherOrigin);
        using var foreignCall = await GrpcWebCallAsync(server, OtherOrigin);
        using var listedCall = await GrpcWebCallAsync(server, AllowedOrigin);

        Assert.Null(Header(foreignPreflight, "Access-Control-Allow-Origin"));
        Assert.Null(Header(foreignCall, "Access-Control-Allow-Origin"));
        Assert.Null(Header(foreignCall, "Access-Control-Expose-Headers"));
        Assert.Equal(AllowedOrigin, Header(listedCall, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task By_default_no_origin_is_allowed_and_an_operator_opens_it_with_Cors_AllowedOrigins()
    {
        await using var byDefault = await StartAsync();
        await using var configured = await StartAsync("--Cors:AllowedOrigins", "*");

        using var refused = await PreflightAsync(byDefault, GetCheckpoint, AllowedOrigin);
        using var refusedCall = await GrpcWebCallAsync(byDefault, AllowedOrigin);
        using var allowed = await PreflightAsync(configured, GetCheckpoint, AllowedOrigin);

        Assert.Null(Header(refused, "Access-Control-Allow-Origin"));
        Assert.Null(Header(refusedCall, "Access-Control-Allow-Origin"));
        Assert.Equal("*", Header(allowed, "Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("*", "true", "Cors:AllowCredentials")]
    [InlineData("https://app.example/", "false", "'https://app.example/' is not an origin")]
    [InlineData("app.example", "false", "'app.example' is not an origin")]
    public async Task A_policy_a_browser_could_not_honour_safely_stops_the_server_naming_the_setting(string origins, string credentials, string message)
    {
        var database = Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-cors-").FullName, "server.db");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerHost.BuildAsync(
            ["--Storage:Path", database, "--Cors:AllowedOrigins", origins, "--Cors:AllowCredentials", credentials])).Bounded();

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> PreflightAsync(HttpJsonServer server, string path, string origin)
    {
        using var request = Request(HttpMethod.Options, server, path, origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", string.Join(",", GrpcWebRequestHeaders));
        return await Http.SendAsync(request).Bounded();
    }

    /// <summary>GetCheckpoint as a browser's gRPC-Web client sends it: one empty message frame, no token.</summary>
    private static async Task<HttpResponseMessage> GrpcWebCallAsync(HttpJsonServer server, string origin)
    {
        using var request = Request(HttpMethod.Post, server, GetCheckpoint, origin);
        request.Content = new ByteArrayContent(new byte[5]);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc-web+proto");
        request.Headers.Add("x-grpc-web", "1");
        return await Http.SendAsync(request).Bounded();
    }

    private static HttpRequestMessage Request(HttpMethod method, HttpJsonServer server, string path, string origin)
    {
        var request = new HttpRequestMessage(method, new Uri(server.Address, path))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Add("Origin", origin);
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    /// <summary>A comma-separated header's entries, lower-cased (header names are case-insensitive).</summary>
    private static string[] HeaderList(HttpResponseMessage response, string name) =>
        (Header(response, name) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(entry => entry.ToLowerInvariant()).ToArray();
}
