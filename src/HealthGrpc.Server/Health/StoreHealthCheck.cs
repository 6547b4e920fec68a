using HealthGrpc.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthGrpc.Server.Health;

/// <summary>
/// Backs the standard grpc.health.v1 service: SERVING only while the store's writer commits and the disk takes
/// writes, NOT_SERVING once the host started draining (load balancers stop routing new streams here) or the writer died.
/// </summary>
internal sealed class StoreHealthCheck(IHealthStore store, IHostApplicationLifetime lifetime) : IHealthCheck
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("the server is shutting down");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await store.CheckWritableAsync(timeout.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception error) when (error is HealthStoreUnavailableException or ObjectDisposedException or IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"store not writable: {error.Message}", error);
        }
    }
}
