using HealthGrpc.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;

namespace HealthGrpc.Server.Observability;

/// <summary>
/// The management endpoint (<c>Management:Url</c>): a small HTTP/1.1 server of its own, on its own port, apart from the
/// gRPC endpoints (no bearer auth, no gRPC, nothing of it reachable on the gRPC port and the reverse). It serves
/// <c>/metrics</c> (Prometheus text format), <c>/healthz</c> (alive: the store's writer commits) and <c>/readyz</c>
/// (the health checks grpc.health.v1 reports: not ready while draining or when the writer is dead). It starts with the
/// host and stops after every other hosted service, so <c>/readyz</c> answers 503 throughout a graceful drain.
/// </summary>
internal sealed class ManagementServer(string url, IServiceProvider services) : IHostedLifecycleService, IAsyncDisposable
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);
    private WebApplication? _app;

    /// <summary>The address it listens on once started (the real port when <c>Management:Url</c> asked for port 0).</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            services.GetRequiredService<MeterProvider>(),
            predicate: context => context.Request.Path == "/metrics",
            path: null,
            configureBranchedPipeline: null,
            optionsName: null);
        app.MapGet("/healthz", LiveAsync);
        app.MapGet("/readyz", ReadyAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        _app = app;
        services.GetRequiredService<ILogger<ManagementServer>>().LogInformation("Management endpoint (/metrics, /healthz, /readyz) on {Address}", Address);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After the gRPC server drained: until then, probes keep getting their answer (503 from /readyz).</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Liveness: the writer is alive and the disk takes writes (a draining server is still alive).</summary>
    private async Task<IResult> LiveAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await services.GetRequiredService<IHealthStore>().CheckWritableAsync(timeout.Token).ConfigureAwait(false);
            return Results.Text("alive\n");
        }
        catch (Exception error) when (error is HealthStoreUnavailableException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            return Results.Text($"store not writable: {error.Message}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>Readiness: exactly the checks behind grpc.health.v1 (the store writable, the server not draining).</summary>
    private async Task<IResult> ReadyAsync(CancellationToken ct)
    {
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(ct).ConfigureAwait(false);
        if (report.Status == HealthStatus.Healthy)
        {
            return Results.Text("ready\n");
        }

        var reasons = string.Join("; ", report.Entries.Where(entry => entry.Value.Status != HealthStatus.Healthy)
            .Select(entry => $"{entry.Key}: {entry.Value.Description}"));
        return Results.Text($"not ready: {reasons}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
