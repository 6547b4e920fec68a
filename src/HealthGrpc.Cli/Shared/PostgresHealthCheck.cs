using HealthGrpc.Storage.Postgres;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthGrpc.Cli.Shared;

/// <summary>
/// The "postgres" health check behind grpc.health.v1 and /readyz: NOT_SERVING while the latest background probe
/// (<see cref="PgHealthProbe"/>, <c>Storage:HealthProbe:Interval</c>/<c>Timeout</c>) found the database unreachable
/// or read-only, SERVING again after the first probe that reaches it. Answers from memory: a probe storm from load
/// balancers never reaches the database.
/// </summary>
internal sealed class PostgresHealthCheck(PgHealthProbe probe) : IHealthCheck
{
    public const string Name = "postgres";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = await probe.CurrentAsync(cancellationToken).ConfigureAwait(false);
        var age = DateTimeOffset.UtcNow - result.At;
        var description = $"{result.Description}, probed {age.TotalSeconds:0.#} s ago";
        return result.Healthy ? HealthCheckResult.Healthy(description) : HealthCheckResult.Unhealthy(description);
    }

    /// <summary>Registers the probe and the check when the host's store is PostgreSQL (<c>Storage:Provider postgres</c>).</summary>
    public static void AddWhenPostgres(WebApplicationBuilder builder)
    {
        var storage = builder.Configuration.GetSection("Storage");
        if (!string.Equals(storage["Provider"], PostgresStore.Name, StringComparison.OrdinalIgnoreCase)
            || storage["ConnectionString"] is not { Length: > 0 } connectionString)
        {
            return;
        }

        var options = storage.GetSection("HealthProbe").Get<PgHealthProbeOptions>() ?? new PgHealthProbeOptions();
        // A singleton the container disposes at shutdown (its loop stops, its connection closes).
        builder.Services.AddSingleton(_ => new PgHealthProbe(connectionString, options));
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>(Name);
    }
}
