using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Server.Tests;

/// <summary>Server:GrpcWeb: the same services, auth, limits and error details over HTTP/1.1 gRPC-Web, next to h2c gRPC.</summary>
public sealed class GrpcWebTests
{
    private const string Upload = "/healthgrpc.v1.SyncService/Upload";
    private const string GetCheckpoint = "/healthgrpc.v1.SyncService/GetCheckpoint";
    private const string ReadSamples = "/healthgrpc.v1.QueryService/ReadSamples";

    /// <summary>
    /// A server as an operator deploys gRPC-Web on plain HTTP: the gRPC endpoint (h2c) and an HTTP/1.1 endpoint of its
    /// own, both named in Kestrel:Endpoints. Which bound address is which is learnt by asking each (no port is guessed).
    /// </summary>
    private static async Task<(WebApplication App, Uri Grpc, Uri Web)> StartWithWebEndpointAsync()
    {
        var database = Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-web-").FullName, "server.db");
        var app = await ServerHost.BuildAsync(
        [
            "--Storage:Path", database, "--Logging:LogLevel:Default", "Warning", "--Server:GrpcWeb", "true",
            "--Kestrel:Endpoints:Grpc:Url", "http://127.0.0.1:0",
            "--Kestrel:Endpoints:Web:Url", "http://127.0.0.1:0", "--Kestrel:Endpoints:Web:Protocols", "Http1",
        ]).Bounded();
        await app.StartAsync().Bounded();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        Assert.Equal(2, addresses.Count);
        var web = new List<Uri>();
        foreach (var address in addresses)
        {
            using var client = new GrpcWebClient(address);
            // An HTTP/2-only endpoint refuses an HTTP/1.1 request; the gRPC-Web one answers it with a gRPC status.
            var probe = await client.CallAsync(GetCheckpoint, new GetCheckpointRequest(), GetCheckpointResponse.Parser, token: null);
            if (probe.GrpcStatus == (int)StatusCode.Unauthenticated)
            {
                web.Add(address);
            }
        }

        var webAddress = Assert.Single(web);
        return (app, addresses.Single(a => a != webAddress), webAddress);
    }

    [Fact]
    public async Task Upload_checkpoint_and_a_read_work_over_http1_grpc_web_and_grpc_clients_keep_their_endpoint()
    {
        var (app, grpcAddress, webAddress) = await StartWithWebEndpointAsync();
        await using var _ = app;
        var token = BearerTokens.Issue();
        await app.Services.GetRequiredService<IHealthStore>().AddTokenAsync("web-user", BearerTokens.Hash(token), CancellationToken.None).Bounded();
        using var web = new GrpcWebClient(webAddress);
        var uuids = Batches.NewUuids(4);

        var uploaded = await web.CallAsync(Upload, Batches.Upload(Batches.HeartRate(1, uuids), Batches.Device("browser-1")), UploadResponse.Parser, token);
        Assert.Equal((HttpStatusCode.OK, HttpVersion.Version11, 0), (uploaded.HttpStatus, uploaded.HttpVersion, uploaded.GrpcStatus));
        Assert.Equal((AckOutcome.Committed, 4u), (uploaded.Message.Ack.Outcome, uploaded.Message.Ack.Accepted));

        var checkpoint = await web.CallAsync(GetCheckpoint, new GetCheckpointRequest { DeviceId = "browser-1" }, GetCheckpointResponse.Parser, token);
        Assert.Equal(0, checkpoint.GrpcStatus);
        Assert.Equal(1ul, checkpoint.Message.HighWaterMark);

        var read = await web.CallAsync(ReadSamples, new ReadSamplesRequest
        {
            Types_ = { DataType.HeartRate },
            StartTime = QueryApi.Time(0),
            EndTime = QueryApi.Time(DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds()),
        }, ReadSamplesResponse.Parser, token);
        Assert.Equal(0, read.GrpcStatus);
        Assert.Equal(uuids.OrderBy(u => u), read.Message.Samples.Select(s => new Guid(s.Uuid.ToByteArray(), bigEndian: true)).OrderBy(u => u));

        // Ordinary gRPC clients keep h2c on their endpoint, and see what the browser stored.
        using var channel = GrpcChannel.ForAddress(grpcAddress);
        var h2c = await new SyncService.SyncServiceClient(channel).GetCheckpointAsync(new GetCheckpointRequest { DeviceId = "browser-1" }, SyncApi.As(token)).Bounded();
        Assert.Equal(1ul, h2c.HighWaterMark);
    }

    [Fact]
    public async Task Grpc_web_text_as_browsers_send_it_uploads_reads_and_refuses_like_binary_grpc_web()
    {
        var (app, _, webAddress) = await StartWithWebEndpointAsync();
        await using var _ = app;
        var token = BearerTokens.Issue();
        await app.Services.GetRequiredService<IHealthStore>().AddTokenAsync("web-text", BearerTokens.Hash(token), CancellationToken.None).Bounded();
        using var web = new GrpcWebClient(webAddress, text: true);
        var uuids = Batches.NewUuids(3);

        var uploaded = await web.CallAsync(Upload, Batches.Upload(Batches.HeartRate(1, uuids), Batches.Device("browser-text")), UploadResponse.Parser, token);
        Assert.Equal((HttpStatusCode.OK, 0), (uploaded.HttpStatus, uploaded.GrpcStatus));
        Assert.Equal((AckOutcome.Committed, 3u), (uploaded.Message.Ack.Outcome, uploaded.Message.Ack.Accepted));

        var checkpoint = await web.CallAsync(GetCheckpoint, new GetCheckpointRequest { DeviceId = "browser-text" }, GetCheckpointResponse.Parser, token);
        Assert.Equal((0, 1ul), (checkpoint.GrpcStatus, checkpoint.Message.HighWaterMark));

        var gap = await web.CallAsync(Upload, Batches.Upload(Batches.HeartRate(5, Batches.NewUuids(1)), Batches.Device("browser-text")), UploadResponse.Parser, token);
        Assert.Equal((int)StatusCode.FailedPrecondition, gap.GrpcStatus);
        Assert.Equal((ErrorReason.SequenceGap, 1ul), (gap.Detail().Reason, gap.Detail().HighWaterMark));
    }

    [Fact]
    public async Task Grpc_web_calls_get_the_same_auth_and_error_details()
    {
        var (app, _, webAddress) = await StartWithWebEndpointAsync();
        await using var _ = app;
        var token = BearerTokens.Issue();
        await app.Services.GetRequiredService<IHealthStore>().AddTokenAsync("web-errors", BearerTokens.Hash(token), CancellationToken.None).Bounded();
        using var web = new GrpcWebClient(webAddress);

        var anonymous = await web.CallAsync(GetCheckpoint, new GetCheckpointRequest { DeviceId = "d" }, GetCheckpointResponse.Parser, token: null);
        Assert.Equal((int)StatusCode.Unauthenticated, anonymous.GrpcStatus);

        var gap = await web.CallAsync(Upload, Batches.Upload(Batches.HeartRate(5, Batches.NewUuids(1))), UploadResponse.Parser, token);
        Assert.Equal((int)StatusCode.FailedPrecondition, gap.GrpcStatus);
        Assert.Equal((ErrorReason.SequenceGap, 0ul), (gap.Detail().Reason, gap.Detail().HighWaterMark));

        // The batch limit holds on gRPC-Web too: RESOURCE_EXHAUSTED with BATCH_TOO_LARGE.
        var tooLarge = await web.CallAsync(Upload, Batches.Upload(Batches.HeartRate(1, Batches.NewUuids(10_001))), UploadResponse.Parser, token);
        Assert.Equal((int)StatusCode.ResourceExhausted, tooLarge.GrpcStatus);
        Assert.Equal(ErrorReason.BatchTooLarge, tooLarge.Detail().Reason);
    }

    [Fact]
    public async Task Grpc_web_is_off_unless_switched_on()
    {
        // An HTTP/1.1 endpoint alone does not make the services gRPC-Web: without Server:GrpcWeb they are not served there.
        var database = Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-web-").FullName, "server.db");
        await using var app = await ServerHost.BuildAsync(
        [
            "--Storage:Path", database, "--Logging:LogLevel:Default", "Warning",
            "--Kestrel:Endpoints:Web:Url", "http://127.0.0.1:0", "--Kestrel:Endpoints:Web:Protocols", "Http1",
        ]).Bounded();
        await app.StartAsync().Bounded();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        var token = BearerTokens.Issue();
        await app.Services.GetRequiredService<IHealthStore>().AddTokenAsync("web-off", BearerTokens.Hash(token), CancellationToken.None).Bounded();
        using var web = new GrpcWebClient(address);

        var response = await web.CallAsync(GetCheckpoint, new GetCheckpointRequest { DeviceId = "d" }, GetCheckpointResponse.Parser, token);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.HttpStatus);
        Assert.Empty(response.Messages);
        Assert.Empty(response.Messages);
    }
}
