using Grpc.Core;
using HealthGrpc.Storage.Tests;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace HealthGrpc.Storage.Postgres.Tests.Faults;

/// <summary>
/// PostgreSQL stopped with `pg_ctl stop -m immediate` (a crash: every backend killed, in-flight transactions lost)
/// while devices stream to a real `healthgrpc serve`, then started again: the devices see UNAVAILABLE (never UNKNOWN
/// or INTERNAL), back off, resume, and every acked sample is stored exactly once; health says NOT_SERVING meanwhile.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private const string User = "carol";
    private string _connectionString = null!;
    private Metadata _auth = null!;
    private ServeProcess _server = null!;

    public async Task InitializeAsync()
    {
        await FaultCluster.EnsureRunningAsync();
        _connectionString = await FaultCluster.NewSchemaAsync();
        _auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(_connectionString, User));
        _server = await ServeProcess.StartAsync(_connectionString);
    }

    public async Task DisposeAsync()
    {
        _server.Dispose();
        await FaultCluster.EnsureRunningAsync();
    }

    [Fact]
    public async Task ImmediateStopMidCommit_ThenRestart_ClientsGetUnavailable_Resume_AndEveryAckedSampleIsStoredOnce()
    {
        const int Batches = 40, Samples = 50, StopAfterAck = 6, HoldAtAck = 30;
        await _server.WaitForHealthAsync(ServingStatus.Serving);
        var devices = Enumerable.Range(0, 3).Select(i => new TestDevice($"ring-{i}", Batches, Samples)).ToList();
        var streaming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // No device may finish before the stop took effect, however slowly pg_ctl runs on a loaded box: device 0 waits
        // for it right after the ack that triggers it, the others keep committing through the stop but wait at ack 30.
        async Task HoldUntilStopped(ulong seq, int at)
        {
            if (seq == (ulong)at)
            {
                if (at == StopAfterAck)
                {
                    streaming.TrySetResult();
                }

                await stopped.Task.WaitAsync(TestData.Timeout);
            }
        }

        var syncing = Task.WhenAll(devices.Select((device, i) => Task.Run(() =>
            device.SyncAllWithRetriesAsync(_ => _server.Sync, _auth, seq => HoldUntilStopped(seq, i == 0 ? StopAfterAck : HoldAtAck)))));

        // Three devices keep the writer committing back to back: the stop lands inside (or between) group commits.
        await streaming.Task.WaitAsync(TestData.Timeout);
        await FaultCluster.StopImmediatelyAsync();
        stopped.TrySetResult();
        try
        {
            await _server.WaitForHealthAsync(ServingStatus.NotServing);
            Assert.Equal(503, (await _server.ReadyzAsync()).Status);
            // The outage lasts long enough for every device to hit it and back off at least once.
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.False(syncing.IsCompleted, "the devices finished during the outage");
        }
        finally
        {
            await FaultCluster.StartAsync();
        }

        await _server.WaitForHealthAsync(ServingStatus.Serving);
        await syncing.WaitAsync(TimeSpan.FromMinutes(3));

        Assert.All(devices, device => Assert.NotEmpty(device.Failures));
        Assert.All(devices.SelectMany(device => device.Failures), failure => Assert.Equal(StatusCode.Unavailable, failure.StatusCode));
        await Delivered.AssertExactlyOnceAsync(_connectionString, User, devices);
    }
}
