using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthGrpc.Cli.Tests.Infrastructure;

/// <summary>
/// The smallest OTLP/gRPC trace collector: real Kestrel (h2c, loopback) answering TraceService/Export with an empty
/// response and handing each request's protobuf bytes to the test. Span names are UTF-8 strings in those bytes, so a
/// test can look for one without the OTLP message types.
/// </summary>
internal sealed class OtlpCollector : IAsyncDisposable
{
    private const string ExportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    private readonly WebApplication _app;
    private readonly System.Threading.Channels.Channel<byte[]> _exports = System.Threading.Channels.Channel.CreateUnbounded<byte[]>();

    private OtlpCollector(WebApplication app) => _app = app;

    /// <summary>The collector's http:// address, for Telemetry:OtlpEndpoint.</summary>
    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    public static async Task<OtlpCollector> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        var collector = new OtlpCollector(builder.Build());
        collector._app.MapPost(ExportPath, collector.ExportAsync);
        await collector._app.StartAsync().Bounded();
        return collector;
    }

    /// <summary>The body of the next Export call, fails the test if none arrives within <see cref="Timeouts.Default"/>.</summary>
    public async Task<byte[]> NextExportAsync() => await _exports.Reader.ReadAsync().AsTask().Bounded();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task ExportAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        _exports.Writer.TryWrite(body.ToArray());

        // A gRPC reply: one length-prefixed message, the empty ExportTraceServiceResponse, then grpc-status OK.
        context.Response.ContentType = "application/grpc";
        await context.Response.Body.WriteAsync(new byte[5]);
        context.Response.AppendTrailer("grpc-status", "0");
    }
}
