using System.Collections.Concurrent;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;
using SQLitePCL;

namespace HealthGrpc.Client.Tests;

/// <summary>A MAUI/WPF app calls the SDK from its UI thread: no SQLite write (an fsync with synchronous=FULL) may run there.</summary>
public sealed class UiThreadTests
{
    [Fact]
    public async Task CallsFromASingleThreadedUiContext_NeverWriteSqliteOnThatThread_AndEventsAreRaisedOffIt()
    {
        await using var server = await TestServer.StartAsync();
        using var ui = new UiThread();
        var writeThreads = new ConcurrentBag<int>();
        var eventThreads = new ConcurrentBag<int>();
        var bad = TestClient.HeartRate(5);
        bad.Samples[2].ScaledValue = 412; // an atomic rejection: quarantine and requeue writes too
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token);
        options.Sources.Add(new FixedSource(DataType.HeartRate, [bad]));

        var pending = await ui.RunAsync(async () =>
        {
            var client = await HealthSyncClient.OpenAsync(options);
            try
            {
                // Every row change and every commit of the store's connection records the thread it ran on.
                var db = client.Store.Connection.Handle!;
                raw.sqlite3_update_hook(db, new delegate_update((_, _, _, _, _) => writeThreads.Add(Environment.CurrentManagedThreadId)), null);
                raw.sqlite3_commit_hook(db, _ =>
                {
                    writeThreads.Add(Environment.CurrentManagedThreadId);
                    return 0;
                }, null);
                client.Events += (_, _) => eventThreads.Add(Environment.CurrentManagedThreadId);

                // Each await resumes on the UI thread (no ConfigureAwait), as app code does.
                await client.EnqueueAsync([TestClient.HeartRate(20)]);
                await client.EnqueueReadingAsync(DataType.HeartRate, 70, DateTimeOffset.UtcNow.AddMinutes(-5), new Source { Kind = DeviceKind.Watch, Name = "w" });
                var immediate = await client.SendImmediateAsync([TestClient.Single(DataType.HeartRateVariabilitySdnn, 40)]);
                Assert.True(immediate.Delivered);
                await client.DrainAsync(includeCatchUp: false);
                await client.RetryQuarantinedAsync();
                await client.WaitUntilDrainedAsync();
                var status = await client.GetStatusAsync();
                Assert.Single(await client.GetQuarantineAsync());
                Assert.Equal(ui.ThreadId, Environment.CurrentManagedThreadId); // the test really ran on the UI thread
                await client.SignOutAsync(SignOutMode.KeepLocalData);
                return status.PendingBatches;
            }
            finally
            {
                await client.DisposeAsync();
            }
        }).WaitAsync(TestClient.Timeout);

        Assert.Equal(0, pending);
        Assert.Equal(20 + 1 + 1 + 4, await server.CountSamplesAsync());
        Assert.NotEmpty(writeThreads); // the hooks saw the writes...
        Assert.DoesNotContain(ui.ThreadId, writeThreads); // ...none on the UI thread
        Assert.NotEmpty(eventThreads);
        Assert.DoesNotContain(ui.ThreadId, eventThreads);
    }
}
