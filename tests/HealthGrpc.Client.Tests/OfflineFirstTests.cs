using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client.Tests;

/// <summary>A new installation collects and enqueues with no network; the restore waits for the first contact.</summary>
public sealed class OfflineFirstTests
{
    [Fact]
    public async Task FreshInstall_Offline_CollectsAndEnqueues_ThenDeliversEverythingOnFirstContact()
    {
        var address = FreePort.Reserve();
        var dir = TempDir.Create();
        var source = new SimulatedSource([DataType.HeartRate, DataType.HeartRateVariabilitySdnn], DateTimeOffset.UtcNow.AddHours(-3));
        source.Append(DataType.HeartRate, 1500);
        source.Append(DataType.HeartRateVariabilitySdnn, 4);
        // The token is not known yet to a server that does not exist yet: the server is started with the same user later.
        var options = TestClient.Options(address, Path.Combine(dir, "client.db"), "pending", deviceId: "phone-offline");
        options.Sources.Add(source);
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            client.Start();
            Assert.Equal(1504, await client.CollectAsync().WaitAsync(TestClient.Timeout));
            await client.EnqueueAsync([TestClient.HeartRate(10)]).WaitAsync(TestClient.Timeout);
            await events.WaitForAsync(e => e.Kind == SyncEventKind.RetryScheduled, TestClient.Timeout); // it tried, and no server answered
            var offline = await client.GetStatusAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(0ul, offline.Epoch);
            Assert.Equal(1514, offline.PendingSamples);
            Assert.Empty(events.Of(SyncEventKind.Restored));

            await using var server = await TestServer.StartAsync(dir, "--urls", address.ToString());
            client.UpdateToken(server.Token);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(1514, await server.CountSamplesAsync());
            Assert.Equal(1514, events.AllAccepted);
            Assert.Equal(0, events.AllDuplicateItems);
            var restored = Assert.Single(events.Of(SyncEventKind.Restored));
            Assert.Equal(0, restored.SampleCount); // nothing committed before: the offline batches were kept
            var anchors = await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(source.LatestAnchor(DataType.HeartRate), anchors.Single(a => a.Type == DataType.HeartRate).Anchor);
            Assert.Equal(1ul, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).Epoch);
        }
    }

    [Fact]
    public async Task Reinstall_CollectsOffline_ThenFirstContactRestoresAnchors_AndNeverResendsCommittedHistory()
    {
        var dir = TempDir.Create();
        var source = new SimulatedSource([DataType.HeartRate, DataType.Steps], DateTimeOffset.UtcNow.AddHours(-5));
        source.Append(DataType.HeartRate, 3000);
        source.Append(DataType.Steps, 200);
        string token;
        await using (var first = await TestServer.StartAsync(dir))
        {
            token = first.Token;
            var before = TestClient.Options(first.Address, Path.Combine(dir, "first-install.db"), token, deviceId: "phone-1");
            before.Sources.Add(source);
            await using var installed = await HealthSyncClient.OpenAsync(before).WaitAsync(TestClient.Timeout);
            await installed.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            Assert.Equal(3200, await first.CountSamplesAsync());
        }

        // Reinstalled (same device id from the keychain, a new local store), offline, while the source grew.
        source.Append(DataType.HeartRate, 400);
        source.Append(DataType.Steps, 50);
        var address = FreePort.Reserve();
        var options = TestClient.Options(address, Path.Combine(dir, "reinstalled.db"), token, deviceId: "phone-1");
        options.Sources.Add(source);
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            client.Start();
            Assert.Equal(3650, await client.CollectAsync().WaitAsync(TestClient.Timeout)); // from the beginning: it cannot know yet
            await client.EnqueueAsync([TestClient.HeartRate(5)]).WaitAsync(TestClient.Timeout); // a live reading, kept as is
            await events.WaitForAsync(e => e.Kind == SyncEventKind.RetryScheduled, TestClient.Timeout);

            await using var server = await TestServer.StartAsync(dir, "--urls", address.ToString());
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(3200 + 450 + 5, await server.CountSamplesAsync());
            Assert.Equal(450 + 5, events.AllAccepted);
            Assert.Equal(0, events.AllDuplicateItems); // the committed history was not read again, let alone sent
            Assert.Equal(3650, Assert.Single(events.Of(SyncEventKind.Restored)).SampleCount);
            var anchors = await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(source.LatestAnchor(DataType.HeartRate), anchors.Single(a => a.Type == DataType.HeartRate).Anchor);
            Assert.Equal(source.LatestAnchor(DataType.Steps), anchors.Single(a => a.Type == DataType.Steps).Anchor);
            Assert.Equal(2ul, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).Epoch);
        }
    }
}
