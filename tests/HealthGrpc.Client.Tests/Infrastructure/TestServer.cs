using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
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
        app.Use(LegacyErrorTrailerBridge.InvokeAsync);
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

/// <summary>
/// TRANSITION ONLY (issue 9): the in-process server still sends its <c>ErrorDetail</c> in the legacy
/// <c>healthgrpc-error-bin</c> trailer, while the SDK reads only the standard <c>grpc-status-details-bin</c>
/// (<c>google.rpc.Status</c> with the detail packed as <c>Any</c>). This middleware adds the standard trailer from the
/// legacy one, so the tests that need a reason code (EPOCH_FENCED, SEQUENCE_GAP) run against today's server. It does
/// nothing once the server sends the standard trailer itself: delete it then.
/// </summary>
internal static class LegacyErrorTrailerBridge
{
    private const string Legacy = "healthgrpc-error-bin";
    private const string Standard = "grpc-status-details-bin";

    public static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        await next(context);
        var response = context.Response;
        if (!response.HasStarted)
        {
            // Trailers-only response: the status travels in the headers.
            if (Translate(response.Headers) is { } headerValue)
            {
                response.Headers[Standard] = headerValue;
            }

            return;
        }

        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        if (trailers is not null && !trailers.IsReadOnly && Translate(trailers) is { } trailerValue)
        {
            trailers[Standard] = trailerValue;
        }
    }

    private static string? Translate(IHeaderDictionary fields)
    {
        if (!fields.TryGetValue(Legacy, out var legacy) || fields.ContainsKey(Standard) || !int.TryParse(fields["grpc-status"], out var code))
        {
            return null;
        }

        var detail = ErrorDetail.Parser.ParseFrom(DecodeBase64(legacy.ToString()));
        var status = new Google.Rpc.Status { Code = code, Message = Uri.UnescapeDataString(fields["grpc-message"].ToString()), Details = { Any.Pack(detail) } };
        return Convert.ToBase64String(status.ToByteArray());
    }

    private static byte[] DecodeBase64(string value)
    {
        var padded = value.Length % 4 == 0 ? value : value + new string('=', 4 - (value.Length % 4));
        return Convert.FromBase64String(padded);
    }
}
