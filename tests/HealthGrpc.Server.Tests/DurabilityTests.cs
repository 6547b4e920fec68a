using HealthGrpc.Contracts.V1;
using Grpc.Core;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>Guarantee 1, "ack means durable", across a graceful restart and across SIGKILL.</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task After_a_restart_every_acked_sample_checkpoint_and_anchor_is_there()
    {
        var uuids = NewUuids(300);
        string path;
        await using (var first = await TestServer.StartAsync())
        {
            path = first.DatabasePath;
            var token = await first.CreateUserAsync("alice");
            for (var b = 0; b < 3; b++)
            {
                await first.Client.UploadAsync(Upload(HeartRate((ulong)b + 1, uuids[(b * 100)..((b + 1) * 100)])), SyncApi.As(token)).Bounded();
            }
        }

        await using var second = await TestServer.StartAsync(path);
        var newToken = await second.CreateUserAsync("alice");
        var checkpoint = await second.Client.GetCheckpointAsync(new GetCheckpointRequest { DeviceId = "watch-1" }, SyncApi.As(newToken)).Bounded();

        Assert.Equal(300, await second.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
        Assert.Equal(3u, checkpoint.HighWaterMark);
        Assert.Equal("anchor-3", Assert.Single(checkpoint.Anchors).Anchor.ToStringUtf8());
    }

    [Fact]
    public async Task A_server_killed_mid_stream_loses_no_acked_sample_and_the_resumed_stream_stores_the_rest_once()
    {
        const int batches = 60, perBatch = 500, killAfterAcks = 15;
        var path = Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-kill-").FullName, "server.db");
        var token = await ServerProcess.CreateUserAsync(path, "alice");
        var plan = Enumerable.Range(0, batches).Select(_ => NewUuids(perBatch)).ToArray();
        var acked = new List<Ack>();

        using (var server = await ServerProcess.StartAsync(path))
        {
            var (stream, welcome) = await SyncStream.OpenAsync(server.Client, token, Device());
            using var _ = stream;
            using var window = new SemaphoreSlim((int)welcome.Limits.MaxBatchesInFlight);
            var sender = Task.Run(async () =>
            {
                for (var b = 0; b < batches; b++)
                {
                    await window.WaitAsync().Bounded();
                    await stream.SendAsync(HeartRate((ulong)b + 1, plan[b]));
                }
            });
            while (acked.Count < killAfterAcks)
            {
                acked.Add(await stream.ReadAckAsync());
                window.Release();
            }

            server.Kill();
            // Open the window wide: the sender's next writes hit the dead connection and must fail, not hang.
            window.Release(batches);
            await Task.WhenAny(sender, Task.Delay(TestTimeouts.Default));
            Assert.True(sender.IsCompleted, "the sender hung after the server was killed");
            Assert.True(sender.IsCompletedSuccessfully || sender.Exception is not null);
        }

        // Every acked batch is in the file that survived the SIGKILL.
        await using (var store = await SqliteHealthStore.OpenAsync(path).Bounded())
        {
            var stored = await StoredUuidsAsync(store);
            foreach (var ack in acked)
            {
                Assert.Equal((uint)perBatch, ack.Accepted);
                Assert.All(plan[(int)ack.BatchSeq - 1], uuid => Assert.Contains(uuid, stored));
            }
        }

        // A new server on the same file: the Welcome tells the client where to resume; the rest is stored exactly once.
        using (var restarted = await ServerProcess.StartAsync(path))
        {
            var (stream, welcome) = await SyncStream.OpenAsync(restarted.Client, token, Device());
            using var _ = stream;
            Assert.True(welcome.HighWaterMark >= killAfterAcks, $"high-water mark {welcome.HighWaterMark} lost acked batches");
            var next = welcome.HighWaterMark + 1;
            for (var b = (int)welcome.HighWaterMark; b < batches; b++)
            {
                await stream.SendAsync(HeartRate((ulong)b + 1, plan[b]));
                if (b + 1 - (int)next >= (int)welcome.Limits.MaxBatchesInFlight - 1)
                {
                    Assert.Equal(next++, (await stream.ReadAckAsync()).BatchSeq);
                }
            }

            while (next <= batches)
            {
                Assert.Equal(next++, (await stream.ReadAckAsync()).BatchSeq);
            }

            await stream.CompleteAsync();
        }

        await using var final = await SqliteHealthStore.OpenAsync(path).Bounded();
        Assert.Equal(batches * perBatch, await final.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task A_graceful_stop_acks_every_batch_it_accepted_then_ends_the_stream_with_unavailable()
    {
        const int batches = 12, perBatch = 2_000;
        var server = await TestServer.StartAsync();
        var path = server.DatabasePath;
        var token = await server.CreateUserAsync("alice");
        var (stream, _) = await SyncStream.OpenAsync(server.Client, token, Device());
        var acks = new List<Ack>();
        RpcException? ended = null;
        using (stream)
        {
            for (var b = 0; b < batches; b++)
            {
                await stream.SendAsync(HeartRate((ulong)b + 1, NewUuids(perBatch)));
            }

            // The stop starts once the server has demonstrably accepted work (one ack back, the rest pipelined behind),
            // so the assertions below cover acks of batches accepted before and during the drain, not an empty stream.
            acks.Add(await stream.ReadAckAsync());
            var stopping = server.StopAsync();
            try
            {
                while (await stream.ReadAsync() is { } response)
                {
                    acks.Add(response.Ack);
                }
            }
            catch (RpcException error)
            {
                ended = error;
            }

            await stopping.Bounded();
        }

        await server.DisposeAsync();
        await using var store = await SqliteHealthStore.OpenAsync(path).Bounded();
        var checkpoint = await store.GetCheckpointAsync("alice", "watch-1", CancellationToken.None).Bounded();

        // Every batch the server read was committed and acked, in order; nothing half-stored.
        Assert.NotNull(ended);
        Assert.True(ended.StatusCode == StatusCode.Unavailable, $"{ended.StatusCode}: {ended.Status.Detail}");
        Assert.Equal(Enumerable.Range(1, acks.Count).Select(i => (ulong)i), acks.Select(a => a.BatchSeq));
        Assert.Equal((ulong)acks.Count, checkpoint?.HighWaterMark ?? 0);
        Assert.Equal(acks.Count * perBatch, await store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    private static async Task<HashSet<Guid>> StoredUuidsAsync(SqliteHealthStore store)
    {
        var uuids = new HashSet<Guid>();
        long after = 0;
        ChangePage page;
        do
        {
            page = await store.ReadChangesAsync("alice", after, 10_000, CancellationToken.None).Bounded();
            foreach (var change in page.Changes)
            {
                if (change.Sample is { } sample)
                {
                    uuids.Add(sample.Uuid);
                }

                after = change.Sequence;
            }
        }
        while (page.HasMore);

        return uuids;
    }
}
