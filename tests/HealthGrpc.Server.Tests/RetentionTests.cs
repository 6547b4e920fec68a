using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Retention;
using HealthGrpc.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Server.Tests;

/// <summary>Retention over real Kestrel and SQLite: the configured sweep purges old raw samples, moves the feed's floor, keeps rollups and replay working.</summary>
public sealed class RetentionTests
{
    private const long Day = 86_400_000;

    private static readonly string[] KeepHeartRateThreeDays = ["--Retention:Days:HEART_RATE", "3", "--Retention:Interval", "1.00:00:00"];

    private static Batch HeartRateAt(ulong batchSeq, long firstOffsetMs, Guid[] uuids) => new()
    {
        BatchSeq = batchSeq,
        SampleSets = { Batches.HeartRateSet(uuids, firstOffsetMs) },
    };

    private static async Task<IReadOnlyList<RollupRecord>> RollupsAsync(TestServer server, string user) =>
        await server.Store.ReadRollupsAsync(user, (int)DataType.HeartRate, long.MinValue, long.MaxValue, CancellationToken.None).Bounded();

    [Fact]
    public async Task A_sweep_purges_old_samples_moves_the_floor_and_expires_older_tokens_keeping_the_rollups()
    {
        // Stored before retention was configured (a server started with it would not take samples this old at all).
        var oldUuids = Batches.NewUuids(50);
        Ack old;
        string token, path;
        IReadOnlyList<RollupRecord> rollupsBefore;
        await using (var before = await TestServer.StartAsync())
        {
            (token, path) = (await before.CreateUserAsync("alice"), before.DatabasePath);
            old = (await before.Client.UploadAsync(Batches.Upload(HeartRateAt(1, -5 * Day, oldUuids)), SyncApi.As(token)).Bounded()).Ack;
            await before.Client.UploadAsync(Batches.Upload(HeartRateAt(2, 0, Batches.NewUuids(10))), SyncApi.As(token)).Bounded();
            rollupsBefore = await RollupsAsync(before, "alice");
        }

        await using var server = await TestServer.StartAsync(path, KeepHeartRateThreeDays);
        // Runs after (or instead of) the sweep the service starts with: either way the old range is purged when it returns.
        await server.Services.GetRequiredService<RetentionService>().SweepAsync(CancellationToken.None).Bounded();

        Assert.Equal(10, await server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
        Assert.Equal(50, await server.Store.GetChangeFloorAsync("alice", CancellationToken.None).Bounded());
        Assert.Equal(rollupsBefore, await RollupsAsync(server, "alice"));

        var feed = ChangeFeedApi.Client(server);
        var expired = await ChangeFeedApi.RefusedAsync(() =>
            feed.ChangesAsync(new ChangesRequest { SinceToken = ChangeFeedApi.TokenAt(10) }, SyncApi.As(token)).ResponseAsync);
        Assert.Equal((StatusCode.FailedPrecondition, ErrorReason.ChangeTokenExpired), (expired.StatusCode, SyncApi.Detail(expired).Reason));
        Assert.Contains("empty since_token", expired.Status.Detail, StringComparison.Ordinal);
        using (var subscription = feed.Subscribe(new SubscribeRequest { SinceToken = ChangeFeedApi.TokenAt(10) }, SyncApi.As(token)))
        {
            var refused = await ChangeFeedApi.RefusedAsync(() => subscription.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal((StatusCode.FailedPrecondition, ErrorReason.ChangeTokenExpired), (refused.StatusCode, SyncApi.Detail(refused).Reason));
        }

        // The token of the purged batch's ack sits at the floor: it resumes with exactly what is left, as an empty token does.
        var resumed = await ChangeFeedApi.ReadAllAsync(server, token, 100, sinceToken: old.ChangeToken);
        var fromStart = await ChangeFeedApi.ReadAllAsync(server, token, 100);
        Assert.Equal(Enumerable.Range(51, 10).Select(i => (ulong)i), resumed.Changes.Select(change => change.Sequence));
        Assert.Equal(resumed.Changes.Select(change => change.Sequence), fromStart.Changes.Select(change => change.Sequence));

        // Re-sent, the purged day is not stored again, so its rollups do not count it twice.
        var resent = await server.Client.UploadAsync(Batches.Upload(HeartRateAt(3, -5 * Day, oldUuids)), SyncApi.As(token)).Bounded();
        Assert.Equal((0u, 50u), (resent.Ack.Accepted, resent.Ack.IgnoredDeleted));
        Assert.Equal(rollupsBefore, await RollupsAsync(server, "alice"));
    }

    [Fact]
    public async Task A_replayed_batch_whose_ack_was_compacted_is_still_answered_as_a_duplicate()
    {
        await using var server = await TestServer.StartAsync();
        var token = await server.CreateUserAsync("bob");
        var acks = new List<Ack>();
        for (ulong seq = 1; seq <= 3; seq++)
        {
            acks.Add((await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(seq, Batches.NewUuids(5))), SyncApi.As(token)).Bounded()).Ack);
        }

        var retention = server.Services.GetRequiredService<IRetentionStore>();
        var compaction = await retention.CompactAcksAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), 0, 100, CancellationToken.None).Bounded();

        var first = await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(1, Batches.NewUuids(5))), SyncApi.As(token)).Bounded();
        var latest = await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(3, Batches.NewUuids(5))), SyncApi.As(token)).Bounded();

        Assert.Equal((2, true), (compaction.Compacted, compaction.Done));
        // Compacted: still a duplicate with the device's high-water mark, only the original counts are gone.
        Assert.Equal((AckOutcome.Duplicate, 1ul, 3ul, 0u), (first.Ack.Outcome, first.Ack.BatchSeq, first.Ack.HighWaterMark, first.Ack.Accepted));
        // The latest batch of the epoch kept its ack: the replay a client that lost its last ack sends gets it whole.
        var original = acks[2].Clone();
        original.Outcome = AckOutcome.Duplicate;
        Assert.Equal(original, latest.Ack);
        Assert.Equal(15, await server.Store.CountSamplesAsync("bob", CancellationToken.None).Bounded());
    }
}
