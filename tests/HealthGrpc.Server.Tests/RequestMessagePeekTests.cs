using Grpc.Core;
using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;
using RequestMessagePeek = HealthGrpc.Server.Services.RequestMessagePeek;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// Pins the grpc-dotnet behaviour the ingest budget relies on: its request stream reads one message at a time from the
/// request pipe and keeps nothing buffered between reads, so after a read the pipe starts with the next message's
/// prefix, and a peek that consumes nothing leaves the next read intact. If an upgrade starts reading ahead, this fails.
/// </summary>
public sealed class RequestMessagePeekTests
{
    [Fact]
    public async Task The_peeked_size_is_the_next_message_and_grpc_dotnet_still_reads_it_whole()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        await using var app = builder.Build();
        app.MapGrpcService<PeekProbe>();
        await app.StartAsync().Bounded();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var channel = GrpcChannel.ForAddress(address);
        using var call = new SyncService.SyncServiceClient(channel).Sync(deadline: DateTime.UtcNow.Add(TestTimeouts.Default));

        // Sizes from a few bytes to several HTTP/2 frames, written back to back so they sit in the pipe together.
        SyncRequest[] sent = [.. new[] { 1, 300, 3, 5_000 }.Select((samples, i) => new SyncRequest { Batch = HeartRate((ulong)i + 1, NewUuids(samples)) })];
        foreach (var request in sent)
        {
            await call.RequestStream.WriteAsync(request).Bounded();
        }

        await call.RequestStream.CompleteAsync().Bounded();
        var acks = new List<Ack>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None).Bounded())
        {
            acks.Add(call.ResponseStream.Current.Ack);
        }

        Assert.Equal(sent.Select(request => (ulong)request.CalculateSize()), acks.Select(ack => ack.BatchSeq)); // peeked sizes
        Assert.Equal(sent.Select(request => (uint)request.CalculateSize()), acks.Select(ack => ack.Accepted)); // what grpc-dotnet then parsed
    }

    /// <summary>Answers each request with an Ack carrying the peeked size (batch_seq) and the parsed size (accepted).</summary>
    private sealed class PeekProbe : SyncService.SyncServiceBase
    {
        public override async Task Sync(IAsyncStreamReader<SyncRequest> requestStream, IServerStreamWriter<SyncResponse> responseStream, ServerCallContext context)
        {
            while (await RequestMessagePeek.NextMessageSizeAsync(context, context.CancellationToken) is { } peeked)
            {
                Assert.True(await requestStream.MoveNext(context.CancellationToken));
                await responseStream.WriteAsync(new SyncResponse { Ack = new Ack { BatchSeq = (ulong)peeked, Accepted = (uint)requestStream.Current.CalculateSize() } });
            }

            Assert.False(await requestStream.MoveNext(context.CancellationToken));
        }
    }
}
