using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Sqlite;
using Xunit.Abstractions;

namespace HealthGrpc.Client.Tests;

/// <summary>The reference server as a child process, killed with SIGKILL and restarted several times during a drain.</summary>
public sealed class ServerKillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ServerKilledRepeatedlyDuringDrain_NothingLostNothingDuplicated_AnchorsAtLatest()
    {
        var dir = TempDir.Create();
        var serverDb = Path.Combine(dir, "server.db");
        var port = ServerProcess.FreePort();
        var token = await ServerProcess.CreateUserAsync(serverDb, "user-1");
        var server = ServerProcess.Start(port, serverDb);
        var source = new SimulatedSource([DataType.HeartRate, DataType.Steps], DateTimeOffset.UtcNow.AddDays(-2));
        source.Append(DataType.HeartRate, 150_000);
        source.Append(DataType.Steps, 20_000);
        var options = TestClient.Options(new Uri($"http://127.0.0.1:{port}"), Path.Combine(dir, "client.db"), token, maxSamplesPerBatch: 2000);
        options.Sources.Add(source);
        var (client, events) = await TestClient.OpenAsync(options);
        try
        {
            await using (client)
            {
                await ServerProcess.WaitForPortAsync(port);
                var drain = client.DrainAsync(includeCatchUp: false);
                for (var kill = 0; kill < 3; kill++)
                {
                    await events.WaitForAsync(e => e.Kind == SyncEventKind.Acked && e.BatchSeq >= (ulong)(10 + (kill * 20)), TestClient.Timeout);
                    server.Kill(entireProcessTree: true); // SIGKILL
                    await server.WaitForExitAsync().WaitAsync(TestClient.Timeout);
                    server.Dispose();
                    output.WriteLine($"killed the server after ack {events.Of(SyncEventKind.Acked).Max(e => e.BatchSeq)}");
                    await Task.Delay(300);
                    server = ServerProcess.Start(port, serverDb);
                }

                await drain.WaitAsync(TimeSpan.FromMinutes(5));
                var anchors = await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout);
                Assert.Equal(source.LatestAnchor(DataType.HeartRate), anchors.Single(a => a.Type == DataType.HeartRate).Anchor);
                Assert.Equal(source.LatestAnchor(DataType.Steps), anchors.Single(a => a.Type == DataType.Steps).Anchor);
                Assert.Equal(170_000, events.AllAccepted);
                Assert.Equal(0, events.AllDuplicateItems);
                output.WriteLine($"retries {events.Of(SyncEventKind.RetryScheduled).Count()}, duplicate acks {events.DuplicateAcks}, sends {events.Of(SyncEventKind.Sent).Count()}");
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TestClient.Timeout);
            server.Dispose();
        }

        await using var store = await SqliteHealthStore.OpenAsync(serverDb).WaitAsync(TestClient.Timeout);
        Assert.Equal(170_000, await store.CountSamplesAsync("user-1", CancellationToken.None).WaitAsync(TestClient.Timeout));
    }
}
