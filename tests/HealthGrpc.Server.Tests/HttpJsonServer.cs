using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HealthGrpc.Server.Auth;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// The real server with <c>Server:JsonTranscoding</c> on one plain HTTP/1.1 endpoint (as an operator gives a JSON
/// gateway), over a real SQLite file, and a plain <see cref="HttpClient"/> that speaks only HTTP/1.1 JSON to it.
/// </summary>
internal sealed class HttpJsonServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http = new() { Timeout = TestTimeouts.Default };

    private HttpJsonServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public IHealthStore Store => _app.Services.GetRequiredService<IHealthStore>();

    public static async Task<HttpJsonServer> StartAsync(params string[] extraArgs)
    {
        var database = Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-json-").FullName, "server.db");
        var app = await ServerHost.BuildAsync(
        [
            "--Storage:Path", database, "--Logging:LogLevel:Default", "Warning",
            "--Kestrel:Endpoints:Web:Url", "http://127.0.0.1:0", "--Kestrel:Endpoints:Web:Protocols", "Http1",
            .. extraArgs,
        ]).Bounded();
        await app.StartAsync().Bounded();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new HttpJsonServer(app, new Uri(address));
    }

    public async Task<string> CreateUserAsync(string userId)
    {
        var token = BearerTokens.Issue();
        await Store.AddTokenAsync(userId, BearerTokens.Hash(token), CancellationToken.None).Bounded();
        return token;
    }

    /// <summary>One HTTP/1.1 request (exactly 1.1: no upgrade), a JSON body when <paramref name="json"/> is given.</summary>
    public async Task<JsonAnswer> SendAsync(HttpMethod method, string path, string? token, string? json = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(Address, path))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await _http.SendAsync(request).Bounded();
        var body = await response.Content.ReadAsStringAsync().Bounded();
        return new JsonAnswer(response.StatusCode, response.Version, response.Content.Headers.ContentType?.MediaType, body);
    }

    public Task<JsonAnswer> PostAsync(string path, string? token, string json) => SendAsync(HttpMethod.Post, path, token, json);

    public Task<JsonAnswer> GetAsync(string path, string? token) => SendAsync(HttpMethod.Get, path, token);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync().Bounded();
        await _app.DisposeAsync();
    }
}

/// <summary>An HTTP answer and its body parsed as JSON (a test fails with the body when it is not JSON).</summary>
internal sealed record JsonAnswer(HttpStatusCode Status, Version Version, string? MediaType, string Body)
{
    public JsonElement Json
    {
        get
        {
            try
            {
                return JsonDocument.Parse(Body).RootElement.Clone();
            }
            catch (JsonException error)
            {
                throw new Xunit.Sdk.XunitException($"HTTP {(int)Status} body is not JSON ({error.Message}): {Body}");
            }
        }
    }

    /// <summary>The one <c>healthgrpc.v1.ErrorDetail</c> of an error body (a google.rpc.Status in JSON).</summary>
    public JsonElement ErrorDetail => Json.GetProperty("details").EnumerateArray()
        .Single(detail => detail.GetProperty("@type").GetString() == "type.googleapis.com/healthgrpc.v1.ErrorDetail");
}
