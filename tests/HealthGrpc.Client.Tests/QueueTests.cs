using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client.Tests;

/// <summary>The durable queue and device identity, without a server (nothing listens on the address).</summary>
public sealed class QueueTests
{
    private static readonly Uri Nowhere = new("http://127.0.0.1:9");

    [Fact]
    public async Task Enqueue_SurvivesReopen_AndKeepsDeviceId()
    {
        var db = Path.Combine(TempDir.Create(), "client.db");
        string deviceId;
        await using (var client = await HealthSyncClient.OpenAsync(TestClient.Options(Nowhere, db, "t")).WaitAsync(TestClient.Timeout))
        {
            deviceId = client.DeviceId;
            var result = await client.EnqueueAsync([TestClient.HeartRate(2500)]).WaitAsync(TestClient.Timeout);
            Assert.Equal(3, result.BatchIds.Count); // 1000 per batch
            Assert.Equal(2500, result.SampleCount);
        }

        await using var reopened = await HealthSyncClient.OpenAsync(TestClient.Options(Nowhere, db, "t")).WaitAsync(TestClient.Timeout);
        Assert.Equal(deviceId, reopened.DeviceId);
        var status = await reopened.GetStatusAsync().WaitAsync(TestClient.Timeout);
        Assert.Equal(3, status.PendingBatches);
        Assert.Equal(2500, status.PendingSamples);
        Assert.Equal(0ul, status.Epoch); // decided at first contact with the server
        Assert.Equal("ok", await reopened.CheckIntegrityAsync().WaitAsync(TestClient.Timeout));
        var batches = await reopened.GetQueuedBatchesAsync().WaitAsync(TestClient.Timeout);
        Assert.All(batches, b => Assert.Equal(QueuedBatchStatus.Pending, b.Status));
        Assert.Equal(batches.OrderBy(b => b.Id).Select(b => b.Id), batches.Select(b => b.Id));
    }

    [Fact]
    public async Task QueueFull_Throws_AndDropsNothing()
    {
        var db = Path.Combine(TempDir.Create(), "client.db");
        var options = new HealthSyncOptions { ServerAddress = Nowhere, DatabasePath = db, AccessToken = "t", MaxQueuedSamples = 100 };
        await using var client = await HealthSyncClient.OpenAsync(options).WaitAsync(TestClient.Timeout);
        await client.EnqueueAsync([TestClient.HeartRate(80)]).WaitAsync(TestClient.Timeout);
        var error = await Assert.ThrowsAsync<QueueFullException>(() => client.EnqueueAsync([TestClient.HeartRate(30)]).WaitAsync(TestClient.Timeout));
        Assert.Equal(80, error.QueuedSamples);
        Assert.Equal(30, error.RequestedSamples);
        var status = await client.GetStatusAsync().WaitAsync(TestClient.Timeout);
        Assert.Equal(80, status.PendingSamples);
        await client.EnqueueAsync([TestClient.HeartRate(20)]).WaitAsync(TestClient.Timeout); // exactly at the bound
        Assert.Equal(100, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingSamples);
    }

    [Fact]
    public async Task QueueFull_ByBytes_Throws()
    {
        var db = Path.Combine(TempDir.Create(), "client.db");
        var options = new HealthSyncOptions { ServerAddress = Nowhere, DatabasePath = db, AccessToken = "t", MaxQueuedBytes = 10_000 };
        await using var client = await HealthSyncClient.OpenAsync(options).WaitAsync(TestClient.Timeout);
        await Assert.ThrowsAsync<QueueFullException>(() => client.EnqueueAsync([TestClient.HeartRate(1000)]).WaitAsync(TestClient.Timeout));
        Assert.Equal(0, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingBatches);
    }

    [Fact]
    public async Task StoreFailure_AfterOpen_IsALocalStoreException_NamingTheFile_AndStoresNothing()
    {
        var db = Path.Combine(TempDir.Create(), "client.db");
        await using var client = await HealthSyncClient.OpenAsync(TestClient.Options(Nowhere, db, "t")).WaitAsync(TestClient.Timeout);
        using (var readOnly = client.Store.Connection.CreateCommand())
        {
            // The engine is not started: nothing else uses the connection. Every write now fails inside SQLite.
            readOnly.CommandText = "PRAGMA query_only=1";
            readOnly.ExecuteNonQuery();
        }

        var error = await Assert.ThrowsAsync<LocalStoreException>(() => client.EnqueueAsync([TestClient.HeartRate(10)]).WaitAsync(TestClient.Timeout));
        Assert.Equal(client.DatabasePath, error.DatabasePath);
        Assert.IsType<Microsoft.Data.Sqlite.SqliteException>(error.InnerException);
        Assert.Equal(0, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingBatches);
    }

    [Fact]
    public void Split_KeepsAnchorsAndDeletionsOnLastChunk()
    {
        var anchors = new[] { new SourceAnchor { Type = DataType.HeartRate, Anchor = Google.Protobuf.ByteString.CopyFromUtf8("a") } };
        var deletions = new[] { new Deletion { Uuid = Contracts.SampleUuid.ToByteString(Guid.NewGuid()) } };
        var batches = BatchBuilder.Split([TestClient.HeartRate(2500)], deletions, anchors, SyncTier.Batch, atomic: true, maxSamples: 1000);
        Assert.Equal([1000, 1000, 501], batches.Select(b => b.Items));
        Assert.All(batches, b => Assert.True(b.Batch.Atomic));
        Assert.Empty(batches[0].Batch.Anchors);
        Assert.Single(batches[2].Batch.Anchors);
        Assert.Single(batches[2].Batch.Deletions);
        Assert.Equal(2500, batches.Sum(b => b.Batch.SampleSets.Sum(s => s.Samples.Count)));
    }

    [Fact]
    public void Tiers_FollowTheArchitecture()
    {
        Assert.Equal(SyncTier.Immediate, SyncTiers.DefaultFor(DataType.HeartRateVariabilitySdnn));
        Assert.Equal(SyncTier.Immediate, SyncTiers.DefaultFor(DataType.SleepAnalysis));
        Assert.Equal(SyncTier.Batch, SyncTiers.DefaultFor(DataType.HeartRate));
        Assert.Equal(SyncTier.Batch, SyncTiers.DefaultFor(DataType.Steps));
    }
}
