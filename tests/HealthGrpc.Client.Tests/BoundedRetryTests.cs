using Grpc.Core;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client.Tests;

/// <summary>No batch blocks the queue forever: non-transient statuses are retried a bounded number of times, then quarantined.</summary>
public sealed class BoundedRetryTests
{
    private const long Poison = 666;   // the scripted server fails every batch carrying this value
    private const long Flaky = 277;    // ... or fails it transiently a few times

    [Theory]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.Unknown)]
    [InlineData(StatusCode.InvalidArgument)]
    public async Task NonTransientStatus_IsRetriedBoundedTimes_ThenQuarantinedWithTheError_AndTheQueueMovesOn(StatusCode code)
    {
        await using var server = await ScriptedSyncServer.StartAsync((batch, _) => ScriptedSyncServer.Carries(batch, Poison) ? code : null);
        var options = Options(server, maxNonTransientAttempts: 3);
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            var poison = WithValue(TestClient.HeartRate(10), Poison);
            await client.EnqueueAsync([poison]).WaitAsync(TestClient.Timeout);
            await client.EnqueueAsync([TestClient.HeartRate(20)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);

            Assert.Equal(3, server.State.AttemptsOf(poison.Samples[0].Uuid)); // bounded: exactly MaxNonTransientAttempts sends
            Assert.Equal(20, server.State.Stored.Count);                       // the queue moved on
            Assert.All(server.State.Stored.Values, n => Assert.Equal(1, n));  // exactly once
            Assert.Equal(0, server.State.Gaps);                                // the quarantined batch's batch_seq was reused
            var quarantined = Assert.Single(await client.GetQuarantineAsync().WaitAsync(TestClient.Timeout));
            Assert.Equal(10, quarantined.ItemCount);
            Assert.Contains(code.ToString(), quarantined.Reason, StringComparison.Ordinal);
            Assert.Null(quarantined.RejectReason);
            Assert.Equal(poison.Samples[0].Uuid, quarantined.Content.SampleSets[0].Samples[0].Uuid);
            Assert.Single(events.Of(SyncEventKind.Quarantined));
            Assert.Equal(0, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingBatches);
        }
    }

    [Theory]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.ResourceExhausted)]
    [InlineData(StatusCode.DeadlineExceeded)]
    public async Task TransientStatus_KeepsBackingOff_PastTheBound_AndIsDelivered(StatusCode code)
    {
        const int failures = 6; // twice the non-transient bound
        await using var server = await ScriptedSyncServer.StartAsync((batch, attempt) =>
            ScriptedSyncServer.Carries(batch, Flaky) && attempt <= failures ? code : null);
        var (client, events) = await TestClient.OpenAsync(Options(server, maxNonTransientAttempts: 3));
        await using (client)
        {
            var flaky = WithValue(TestClient.HeartRate(10), Flaky);
            await client.EnqueueAsync([flaky]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);

            Assert.Equal(failures + 1, server.State.AttemptsOf(flaky.Samples[0].Uuid));
            Assert.Equal(10, server.State.Stored.Count);
            Assert.Empty(await client.GetQuarantineAsync().WaitAsync(TestClient.Timeout));
            Assert.True(events.Of(SyncEventKind.RetryScheduled).Count() >= failures);
        }
    }

    [Fact]
    public async Task QuarantinedItems_DoNotCountAgainstTheQueueBound_AndFollowTheRetentionPolicy()
    {
        await using var server = await ScriptedSyncServer.StartAsync((batch, _) => ScriptedSyncServer.Carries(batch, Poison) ? StatusCode.Internal : null);
        var options = Options(server, maxNonTransientAttempts: 1, maxQueuedSamples: 30, maxQuarantinedBatches: 1);
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.EnqueueAsync([WithValue(TestClient.HeartRate(20), Poison)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(20, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).QuarantinedSamples);

            // 20 quarantined + 20 new > 30: accepted, because only pending and in-flight items count.
            var second = WithValue(TestClient.HeartRate(20), Poison);
            await client.EnqueueAsync([second]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);

            // Retention (at most one quarantined batch): the oldest was purged, and that was reported.
            var kept = Assert.Single(await client.GetQuarantineAsync().WaitAsync(TestClient.Timeout));
            Assert.Equal(second.Samples[0].Uuid, kept.Content.SampleSets[0].Samples[0].Uuid);
            Assert.Equal(1, Assert.Single(events.Of(SyncEventKind.QuarantinePurged)).SampleCount);

            await client.EnqueueAsync([TestClient.HeartRate(25)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(25, server.State.Stored.Count);
            await Assert.ThrowsAsync<QueueFullException>(() => client.EnqueueAsync([TestClient.HeartRate(31)]).WaitAsync(TestClient.Timeout));
        }
    }

    private static HealthSyncOptions Options(ScriptedSyncServer server, int maxNonTransientAttempts, long maxQueuedSamples = 2_000_000, int maxQuarantinedBatches = 10_000)
    {
        var o = TestClient.Options(server.Address, Path.Combine(TempDir.Create(), "client.db"), "any-token");
        return new HealthSyncOptions
        {
            ServerAddress = o.ServerAddress,
            DatabasePath = o.DatabasePath,
            AccessToken = o.AccessToken,
            MaxSamplesPerBatch = o.MaxSamplesPerBatch,
            // Not the shared 3 s: a stalled attempt that the watchdog ends is transient and, rightly, not counted toward
            // the non-transient bound, so on a loaded machine one stall made the poison's sends 4 instead of 3. These
            // tests are about the statuses the server answers, not about the watchdog.
            AckTimeout = TimeSpan.FromSeconds(30),
            RetryBaseDelay = o.RetryBaseDelay,
            RetryMaxDelay = TimeSpan.FromMilliseconds(300),
            IdleTimeout = o.IdleTimeout,
            MaxNonTransientAttempts = maxNonTransientAttempts,
            MaxQueuedSamples = maxQueuedSamples,
            MaxQuarantinedBatches = maxQuarantinedBatches,
        };
    }

    private static SampleSet WithValue(SampleSet set, long value)
    {
        set.Samples[0].ScaledValue = value;
        return set;
    }
}
