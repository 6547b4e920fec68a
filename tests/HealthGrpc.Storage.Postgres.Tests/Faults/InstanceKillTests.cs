using Grpc.Core;

namespace HealthGrpc.Storage.Postgres.Tests.Faults;

/// <summary>
/// Two real `healthgrpc serve` processes on one database; one is SIGKILLed while devices stream to it, and the devices
/// resume on the other from its Welcome: nothing acked is lost, nothing is stored twice.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class InstanceKillTests : IAsyncLifetime
{
    private const string User = "bob";
    private string _connectionString = null!;
    private Metadata _auth = null!;
    private ServeProcess _doomed = null!;
    private ServeProcess _survivor = null!;

    public async Task InitializeAsync()
    {
        await FaultCluster.EnsureRunningAsync();
        _connectionString = await FaultCluster.NewSchemaAsync();
        _auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(_connectionString, User));
        var doomed = ServeProcess.StartAsync(_connectionString);
        var survivor = ServeProcess.StartAsync(_connectionString);
        (_doomed, _survivor) = (await doomed, await survivor);
    }

    public Task DisposeAsync()
    {
        _doomed.Dispose();
        _survivor.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task SigkillOfOneInstanceMidStream_DevicesResumeOnTheOther_NothingAckedLost_NothingDuplicated()
    {
        const int Batches = 30, Samples = 50, KillAfterAck = 8;
        var devices = Enumerable.Range(0, 3).Select(i => new TestDevice($"strap-{i}", Batches, Samples)).ToList();
        var killed = 0;
        Task KillMidStream(ulong seq)
        {
            // Device 0's eighth ack: every device is mid-stream on the doomed instance, batches in flight.
            if (seq == KillAfterAck && Interlocked.Exchange(ref killed, 1) == 0)
            {
                _doomed.Kill();
            }

            return Task.CompletedTask;
        }

        // First attempt on the doomed instance, every retry on the survivor (what a load balancer does once one is gone).
        await Task.WhenAll(devices.Select((device, i) => Task.Run(() => device.SyncAllWithRetriesAsync(
            attempt => attempt == 0 ? _doomed.Sync : _survivor.Sync, _auth, i == 0 ? KillMidStream : null))))
            .WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(1, killed);
        Assert.All(devices, device => Assert.True(device.Acks.Keys.Max() == Batches, $"{device.Identity.DeviceId} did not finish"));
        // Device 0 was streaming when its instance died: it saw the failure (UNAVAILABLE) and resumed elsewhere.
        Assert.NotEmpty(devices[0].Failures);
        Assert.All(devices.SelectMany(device => device.Failures), failure => Assert.Equal(StatusCode.Unavailable, failure.StatusCode));
        await Delivered.AssertExactlyOnceAsync(_connectionString, User, devices);
    }
}
