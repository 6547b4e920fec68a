using System.Net;
using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// The meter is process-wide by name, so a test server running in parallel would add its traffic to these counters:
/// the tests that check exact amounts run alone.
/// </summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>The management endpoint (Management:Url): Prometheus metrics after known traffic, liveness and readiness.</summary>
[Collection(nameof(MetricsCollection))]
public sealed class ManagementEndpointTests
{
    private static async Task<(TestServer Server, Uri Management)> StartAsync()
    {
        var server = await TestServer.StartAsync(null, "--Management:Url", "http://127.0.0.1:0");
        return (server, server.Services.GetRequiredService<ManagementServer>().Address!);
    }

    private static HttpClient Http() => new() { DefaultRequestVersion = HttpVersion.Version11, Timeout = TestTimeouts.Default };

    [Fact]
    public async Task Metrics_count_the_batches_items_duplicates_and_rejections_of_known_traffic()
    {
        var (server, management) = await StartAsync();
        await using var _ = server;
        using var http = Http();
        var token = await server.CreateUserAsync("metrics-user");
        var options = SyncApi.As(token);
        var before = await PrometheusScrape.ReadAsync(http, management);

        // Batch 1: 5 new samples. Batch 2: 3 new + 2 of batch 1 again (duplicates). Batch 2 replayed (a duplicate batch).
        var first = Batches.NewUuids(5);
        await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(1, first)), options).Bounded();
        await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(2, [.. Batches.NewUuids(3), first[0], first[1]])), options).Bounded();
        await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(2, first)), options).Bounded();
        // Batch 3: 2 valid samples, one out of range, one in a unit heart rate cannot be converted from.
        var mixed = Batches.HeartRate(3, Batches.NewUuids(3));
        mixed.SampleSets[0].Samples[2].ScaledValue = 412;
        var wrongUnit = Batches.HeartRateSet(Batches.NewUuids(1));
        wrongUnit.Unit = "kg";
        mixed.SampleSets.Add(wrongUnit);
        var mixedAck = (await server.Client.UploadAsync(Batches.Upload(mixed), options).Bounded()).Ack;
        Assert.Equal((2u, 2u), (mixedAck.Accepted, mixedAck.Rejected));
        // Batch 9 skips ahead: refused as a whole (FAILED_PRECONDITION, SEQUENCE_GAP).
        var gap = await Assert.ThrowsAsync<RpcException>(() => server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(9, Batches.NewUuids(1))), options).Bounded());
        Assert.Equal(StatusCode.FailedPrecondition, gap.StatusCode);
        // One read.
        await server.Query().ReadSamplesAsync(new ReadSamplesRequest { Types_ = { DataType.HeartRate }, StartTime = QueryApi.Time(0), EndTime = QueryApi.Time(DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds()) }, options).Bounded();

        var after = await PrometheusScrape.ReadAsync(http, management);
        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);

        Assert.Equal(3, Delta("healthgrpc_ingest_batches_total", ("healthgrpc_outcome", "committed")));
        Assert.Equal(1, Delta("healthgrpc_ingest_batches_total", ("healthgrpc_outcome", "duplicate")));
        Assert.Equal(0, Delta("healthgrpc_ingest_batches_total", ("healthgrpc_outcome", "rejected")));
        Assert.Equal(5 + 3 + 2, Delta("healthgrpc_ingest_items_total", ("healthgrpc_outcome", "accepted")));
        Assert.Equal(2, Delta("healthgrpc_ingest_items_total", ("healthgrpc_outcome", "duplicate")));
        Assert.Equal(2, Delta("healthgrpc_ingest_items_total", ("healthgrpc_outcome", "rejected")));
        Assert.Equal(1, Delta("healthgrpc_ingest_item_rejections_total", ("healthgrpc_reason", "REJECT_REASON_VALUE_OUT_OF_RANGE")));
        Assert.Equal(1, Delta("healthgrpc_ingest_item_rejections_total", ("healthgrpc_reason", "REJECT_REASON_UNIT_NOT_CONVERTIBLE")));
        Assert.Equal(1, Delta("healthgrpc_ingest_refusals_total", ("healthgrpc_reason", "ERROR_REASON_SEQUENCE_GAP")));
        Assert.Equal(1, Delta("healthgrpc_ingest_refusals_total"));
        // Every batch the store evaluated (the gap too) went through a group commit and was timed.
        Assert.Equal(5, Delta("healthgrpc_ingest_commit_duration_seconds_count"));
        Assert.True(Delta("healthgrpc_store_group_commit_duration_seconds_count") >= 1, after.Text);
        Assert.True(Delta("healthgrpc_store_group_commit_rows_sum") >= 5 + 5 + 4, after.Text);
        Assert.Equal(1, Delta("healthgrpc_read_duration_seconds_count", ("rpc_method", "ReadSamples"), ("rpc_grpc_status_code", "0")));
        Assert.True(after.Has("healthgrpc_store_writer_queue_depth"), after.Text);
        Assert.True(after.Has("healthgrpc_ingest_budget_waits_total"), after.Text);
    }

    [Fact]
    public async Task Open_sync_streams_and_subscribers_are_gauged_while_they_are_open()
    {
        var (server, management) = await StartAsync();
        await using var _ = server;
        using var http = Http();
        var token = await server.CreateUserAsync("gauge-user");

        var (stream, _) = await SyncStream.OpenAsync(server.Client, token, Batches.Device());
        using var subscription = new ChangeFeedService.ChangeFeedServiceClient(server.Channel).Subscribe(new SubscribeRequest(), SyncApi.As(token));
        Assert.True(await subscription.ResponseStream.MoveNext(CancellationToken.None).Bounded()); // caught_up: the subscription is registered
        var open = await PrometheusScrape.ReadAsync(http, management);
        Assert.Equal(1, open.Value("healthgrpc_sync_streams"));
        Assert.Equal(1, open.Value("healthgrpc_changefeed_subscribers"));

        await stream.CompleteAsync();
        Assert.Null(await stream.ReadAsync());
        stream.Dispose();
        var closed = await PrometheusScrape.ReadAsync(http, management);
        Assert.Equal(0, closed.Value("healthgrpc_sync_streams"));
    }

    [Fact]
    public async Task Readyz_reports_not_ready_while_draining_and_healthz_stays_alive()
    {
        var (server, management) = await StartAsync();
        await using var _ = server;
        using var http = Http();

        using (var ready = await http.GetAsync(new Uri(management, "/readyz")).Bounded())
        using (var alive = await http.GetAsync(new Uri(management, "/healthz")).Bounded())
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
            Assert.Equal(new Version(1, 1), ready.Version);
        }

        // Draining starts (ApplicationStopping): load balancers must stop sending new work, the process is still alive.
        server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        using var draining = await http.GetAsync(new Uri(management, "/readyz")).Bounded();
        using var stillAlive = await http.GetAsync(new Uri(management, "/healthz")).Bounded();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, draining.StatusCode);
        Assert.Contains("shutting down", await draining.Content.ReadAsStringAsync().Bounded(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, stillAlive.StatusCode);
    }

    [Fact]
    public async Task The_management_endpoint_is_off_unless_configured_and_serves_nothing_on_the_grpc_port()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Null(server.Services.GetService<ManagementServer>());

        var (managed, management) = await StartAsync();
        await using var _ = managed;
        using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TestTimeouts.Default };
        using var onGrpcPort = await http.GetAsync(new Uri(managed.Address, "/metrics")).Bounded();
        Assert.NotEqual(HttpStatusCode.OK, onGrpcPort.StatusCode);
        Assert.NotEqual(managed.Address.Port, management.Port);
    }
}
