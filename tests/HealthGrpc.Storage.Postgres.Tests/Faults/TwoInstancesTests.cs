using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests.Faults;

/// <summary>
/// Two real `healthgrpc serve` processes on one PostgreSQL database, devices of one user alternating between them
/// batch by batch, concurrently: every acked sample stored exactly once, batch_seq order, duplicate replay and epoch
/// fencing held across the processes.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class TwoInstancesTests : IAsyncLifetime
{
    private const string User = "alice";
    private string _connectionString = null!;
    private Metadata _auth = null!;
    private ServeProcess _a = null!;
    private ServeProcess _b = null!;

    public async Task InitializeAsync()
    {
        await FaultCluster.EnsureRunningAsync();
        _connectionString = await FaultCluster.NewSchemaAsync();
        _auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(_connectionString, User));
        var a = ServeProcess.StartAsync(_connectionString);
        var b = ServeProcess.StartAsync(_connectionString);
        (_a, _b) = (await a, await b);
    }

    public Task DisposeAsync()
    {
        _a.Dispose();
        _b.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task DevicesAlternatingBetweenInstances_BatchByBatch_StoreEveryAckedSampleExactlyOnce_InBatchSeqOrder()
    {
        const int Batches = 16, Samples = 40;
        var devices = Enumerable.Range(0, 4).Select(i => new TestDevice($"watch-{i}", Batches, Samples)).ToList();
        SyncService.SyncServiceClient On(int index) => index % 2 == 0 ? _a.Sync : _b.Sync;

        // Concurrently: device i sends batch n to instance (n + i) % 2, so at any moment both instances commit batches
        // of the same user, and each device's consecutive batches are decided by different processes.
        await Task.WhenAll(devices.Select((device, i) => Task.Run(async () =>
        {
            for (var seq = 1UL; seq <= Batches; seq++)
            {
                var ack = await device.UploadAsync(On((int)seq + i), _auth, seq);
                Assert.Equal((AckOutcome.Committed, (uint)Samples, seq), (ack.Outcome, ack.Accepted, ack.HighWaterMark));
            }
        }))).WaitAsync(TimeSpan.FromMinutes(2));

        foreach (var (device, i) in devices.Select((device, i) => (device, i)))
        {
            // A replay on the OTHER instance than the one that committed it: the original result, flagged duplicate.
            foreach (var seq in new ulong[] { 1, Batches / 2 })
            {
                var original = device.Acks[seq];
                var replay = await device.UploadAsync(On((int)seq + i + 1), _auth, seq);
                Assert.Equal((AckOutcome.Duplicate, original.Accepted, (ulong)Batches), (replay.Outcome, replay.Accepted, replay.HighWaterMark));
            }

            // A gap is refused on either instance with the high-water mark the other one wrote.
            var gap = await Assert.ThrowsAsync<RpcException>(() => device.UploadAsync(On(i), _auth, device.Extra(Batches + 2)));
            Assert.Equal(StatusCode.FailedPrecondition, gap.StatusCode);
            var detail = Detail(gap);
            Assert.Equal((ErrorReason.SequenceGap, (ulong)Batches), (detail.Reason, detail.HighWaterMark));
        }

        await Delivered.AssertExactlyOnceAsync(_connectionString, User, devices);
    }

    [Fact]
    public async Task ANewEpochCommittedOnOneInstance_FencesTheOldEpochStreamingOnTheOther()
    {
        const int Batches = 200, Samples = 20;
        var old = new TestDevice("phone-1", Batches, Samples, epoch: 1);
        var reinstalled = new TestDevice("phone-1", 3, Samples, epoch: 2);
        var oldHasAcks = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var newEpochCommitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The old epoch uploads on A, waits after its 5th ack until the new epoch committed on B (a cold B could
        // otherwise be slower than all 200 uploads on a warm A), then keeps uploading while B goes on: refused at once.
        var oldSender = Task.Run(async () =>
        {
            for (var seq = 1UL; seq <= Batches; seq++)
            {
                await old.UploadAsync(_a.Sync, _auth, seq);
                if (seq == 5)
                {
                    oldHasAcks.TrySetResult();
                    await newEpochCommitted.Task.WaitAsync(TestData.Timeout);
                }
            }
        });
        await oldHasAcks.Task.WaitAsync(TestData.Timeout);
        for (var seq = 1UL; seq <= 3; seq++)
        {
            Assert.Equal(AckOutcome.Committed, (await reinstalled.UploadAsync(_b.Sync, _auth, seq)).Outcome);
            newEpochCommitted.TrySetResult();
        }

        var fenced = await Assert.ThrowsAsync<RpcException>(() => oldSender.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(StatusCode.FailedPrecondition, fenced.StatusCode);
        var detail = Detail(fenced);
        Assert.Equal((ErrorReason.EpochFenced, 2UL), (detail.Reason, detail.CurrentEpoch));
        Assert.Equal(5, old.Acks.Count); // the first upload after the new epoch's commit was refused

        // What the old epoch got acked is stored (ack means durable); nothing after the fence is.
        await using var store = await PostgresHealthStore.OpenAsync(_connectionString, PostgresTestDatabase.Options).T30();
        var stored = (await TestData.ReadAllChangesAsync(store, User)).Where(c => c.Sample is not null).Select(c => c.Uuid!.Value).ToHashSet();
        Assert.All(old.AckedSampleUuids.Concat(reinstalled.AckedSampleUuids), uuid => Assert.Contains(uuid, stored));
        Assert.Equal(old.AckedSampleUuids.Count() + reinstalled.AckedSampleUuids.Count(), stored.Count);
        var checkpoint = await store.GetCheckpointAsync(User, "phone-1", CancellationToken.None).T30();
        Assert.Equal((2UL, 3UL), (checkpoint!.Epoch, checkpoint.HighWaterMark));
    }

    private static ErrorDetail Detail(RpcException error) =>
        error.GetRpcStatus()?.GetDetail<ErrorDetail>() ?? throw new Xunit.Sdk.XunitException($"no ErrorDetail in {error.Status}");
}
