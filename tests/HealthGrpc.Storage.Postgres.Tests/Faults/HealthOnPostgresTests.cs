using HealthGrpc.Storage.Tests;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace HealthGrpc.Storage.Postgres.Tests.Faults;

/// <summary>grpc.health.v1 and /readyz of a real `healthgrpc serve` on PostgreSQL follow the database: down, back.</summary>
[Collection(FaultCollection.Name)]
public sealed class HealthOnPostgresTests : IAsyncLifetime
{
    private string _connectionString = null!;

    public async Task InitializeAsync()
    {
        await FaultCluster.EnsureRunningAsync();
        _connectionString = await FaultCluster.NewSchemaAsync();
    }

    public Task DisposeAsync() => FaultCluster.EnsureRunningAsync();

    [Fact]
    public async Task Health_IsNotServing_WhileThePostgresServerIsDown_AndServingAgainOnceItIsBack()
    {
        using var server = await ServeProcess.StartAsync(_connectionString);
        await server.WaitForHealthAsync(ServingStatus.Serving);
        Assert.Equal(200, (await server.ReadyzAsync()).Status);

        await FaultCluster.StopImmediatelyAsync();
        try
        {
            await server.WaitForHealthAsync(ServingStatus.NotServing);
            // The `store` check (a probe per request) can turn NOT_SERVING before the postgres probe's next round
            // (every second): wait for /readyz to name the postgres check too, never longer than the test timeout.
            var deadline = System.Diagnostics.Stopwatch.StartNew();
            var (status, body) = await server.ReadyzAsync();
            while (!body.Contains("postgres: PostgreSQL is unreachable", StringComparison.Ordinal) && deadline.Elapsed < TestData.Timeout)
            {
                await Task.Delay(100);
                (status, body) = await server.ReadyzAsync();
            }

            Assert.Equal(503, status);
            Assert.Contains("postgres: PostgreSQL is unreachable", body, StringComparison.Ordinal);
        }
        finally
        {
            await FaultCluster.StartAsync();
        }

        await server.WaitForHealthAsync(ServingStatus.Serving);
        Assert.Equal(200, (await server.ReadyzAsync()).Status);
    }
}
