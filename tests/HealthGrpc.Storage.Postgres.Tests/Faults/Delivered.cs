using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests.Faults;

/// <summary>What the database holds after a fault, read through a store of the test's own on the same schema.</summary>
internal static class Delivered
{
    /// <summary>
    /// Every acked sample is stored, every sample of every device is stored exactly once (the devices finished: each
    /// batch was committed, acked or answered as already committed), the change feed holds each once in increasing
    /// order, and each device's checkpoint stands at its last batch.
    /// </summary>
    public static async Task AssertExactlyOnceAsync(string connectionString, string userId, IReadOnlyList<TestDevice> devices)
    {
        await using var store = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options).T30();
        var changes = await TestData.ReadAllChangesAsync(store, userId);
        var stored = changes.Where(change => change.Sample is not null).Select(change => change.Uuid!.Value).ToList();
        var storedSet = stored.ToHashSet();

        var twice = stored.GroupBy(uuid => uuid).Where(group => group.Count() > 1).Select(group => group.Key).ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} samples are in the change feed more than once");
        var sequences = changes.Select(change => change.Sequence).ToList();
        Assert.Equal(sequences.Order(), sequences);

        foreach (var device in devices)
        {
            var lostAcked = device.AckedSampleUuids.Count(uuid => !storedSet.Contains(uuid));
            Assert.True(lostAcked == 0, $"{device.Identity.DeviceId}: {lostAcked} samples of acked batches are not stored");
            var checkpoint = await store.GetCheckpointAsync(userId, device.Identity.DeviceId, CancellationToken.None).T30();
            Assert.NotNull(checkpoint);
            Assert.Equal((device.Identity.Epoch, (ulong)device.BatchCount), (checkpoint.Epoch, checkpoint.HighWaterMark));
        }

        var sent = devices.SelectMany(device => device.SampleUuids).ToHashSet();
        Assert.Equal(sent.Count, stored.Count);
        Assert.True(sent.SetEquals(storedSet), "the stored samples are not exactly the ones the devices sent");
        Assert.Equal(sent.Count, await PostgresTestDatabase.CountSamplesAsync(connectionString, userId).T30());
    }
}
