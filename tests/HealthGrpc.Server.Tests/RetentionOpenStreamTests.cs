using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Server.Tests;

/// <summary>Retention against an open Subscribe over real Kestrel and SQLite: a purge that passes its position ends it, it never skips changes.</summary>
public sealed class RetentionOpenStreamTests
{
    private const long Day = 86_400_000;
    private const int OldBatches = 3, PerBatch = 10_000;

    [Fact]
    public async Task An_open_subscription_whose_position_the_purge_passes_ends_with_change_token_expired()
    {
        // Small store reads, so the catch-up goes back to the store (and meets the floor) often.
        // A stalled write may wait as long as the purge takes on a loaded box: the stream must end by the expiry, not by slowness.
        await using var server = await TestServer.StartAsync(null, "--ChangeFeed:SubscribeReadSize", "100", "--ChangeFeed:SubscribeWriteTimeout", "00:10:00");
        var token = await server.CreateUserAsync("alice");
        for (ulong seq = 1; seq <= OldBatches; seq++)
        {
            var batch = new Batch { BatchSeq = seq, SampleSets = { Batches.HeartRateSet(Batches.NewUuids(PerBatch), -5 * Day + (long)(seq - 1) * PerBatch * 1000) } };
            await server.Client.UploadAsync(Batches.Upload(batch), SyncApi.As(token)).Bounded();
        }

        await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(OldBatches + 1, Batches.NewUuids(10))), SyncApi.As(token)).Bounded();

        using var subscription = ChangeFeedApi.Client(server).Subscribe(new SubscribeRequest(), SyncApi.As(token));
        // The catch-up is under way: the stream has delivered its first change. The test then stops reading, so the
        // server's writes wait on flow control long before 30,000 changes are out.
        Assert.True(await subscription.ResponseStream.MoveNext(CancellationToken.None).Bounded());
        Assert.Equal(1ul, subscription.ResponseStream.Current.Change.Sequence);

        var retention = server.Services.GetRequiredService<IRetentionStore>();
        var before = Batches.Origin.AddDays(-2).ToUnixTimeMilliseconds();
        while ((await retention.PurgeAsync((int)DataType.HeartRate, before, 5_000, CancellationToken.None).Bounded()).More)
        {
        }

        Assert.Equal(OldBatches * PerBatch, await server.Store.GetChangeFloorAsync("alice", CancellationToken.None).Bounded());
        var received = new List<ulong> { 1 };
        var ended = await ChangeFeedApi.RefusedAsync(async () =>
        {
            while (await subscription.ResponseStream.MoveNext(CancellationToken.None))
            {
                var message = subscription.ResponseStream.Current;
                Assert.Equal(SubscribeResponse.KindOneofCase.Change, message.KindCase); // never caught_up over a hole
                received.Add(message.Change.Sequence);
            }
        });

        Assert.Equal((StatusCode.FailedPrecondition, ErrorReason.ChangeTokenExpired), (ended.StatusCode, SyncApi.Detail(ended).Reason));
        Assert.Contains("empty since_token", ended.Status.Detail, StringComparison.Ordinal);
        // What it did deliver is the feed's start without a gap, ending short of the purged range's end.
        Assert.Equal(Enumerable.Range(1, received.Count).Select(i => (ulong)i), received);
        Assert.True(received.Count < OldBatches * PerBatch, $"{received.Count} changes were delivered before the purge passed the stream");
    }
}
