using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace HealthGrpc.Server.Observability;

/// <summary>
/// Metrics, traces and the management endpoint, from configuration: <c>Management:Url</c> (off when empty, the
/// default) turns on metrics collection and the endpoint; <c>Telemetry:Traces</c> (<c>none</c>, the default;
/// <c>console</c>; <c>otlp</c> with <c>Telemetry:OtlpEndpoint</c> or the standard OTEL_EXPORTER_OTLP_* variables)
/// exports a span per gRPC call. JSON console logs are ASP.NET Core's own <c>Logging:Console:FormatterName=json</c>.
/// </summary>
internal static class Telemetry
{
    private static readonly string[] ManagementPaths = ["/metrics", "/healthz", "/readyz"];

    public static void AddServerTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ServerMetrics>();
        var managementUrl = builder.Configuration["Management:Url"];
        var traces = (builder.Configuration["Telemetry:Traces"] ?? "none").ToLowerInvariant();
        if (traces is not ("none" or "console" or "otlp"))
        {
            throw new InvalidOperationException($"Telemetry:Traces must be none, console or otlp; got '{builder.Configuration["Telemetry:Traces"]}'.");
        }

        if (string.IsNullOrWhiteSpace(managementUrl) && traces == "none")
        {
            return;
        }

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("healthgrpc", serviceVersion: typeof(Telemetry).Assembly.GetName().Version?.ToString()));
        if (!string.IsNullOrWhiteSpace(managementUrl))
        {
            otel.WithMetrics(metrics => metrics
                .AddMeter(ServerMetrics.MeterName)
                .AddMeter("Microsoft.AspNetCore.Server.Kestrel")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                // Every scrape reads the instruments now: a cached answer would hide the last moments of traffic.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
            builder.Services.AddSingleton(services => new ManagementServer(managementUrl, services));
            builder.Services.AddHostedService(services => services.GetRequiredService<ManagementServer>());
        }

        if (traces != "none")
        {
            var otlpEndpoint = builder.Configuration["Telemetry:OtlpEndpoint"];
            otel.WithTracing(tracing =>
            {
                // The management endpoint's probes and scrapes are not calls anyone wants traced.
                tracing.AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !ManagementPaths.Contains(context.Request.Path.Value));
                if (traces == "console")
                {
                    tracing.AddConsoleExporter();
                }
                else
                {
                    tracing.AddOtlpExporter(otlp =>
                    {
                        if (!string.IsNullOrWhiteSpace(otlpEndpoint))
                        {
                            otlp.Endpoint = new Uri(otlpEndpoint);
                        }
                    });
                }
            });
        }
    }
}
