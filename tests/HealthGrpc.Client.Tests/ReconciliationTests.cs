using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client.Tests;

/// <summary>
/// Reconciliation against a real server: samples removed from the server's SQLite file are found and sent again; samples
/// removed at the source without a deletion are reported, and nothing is deleted; never silently accepted.
/// </summary>
public sealed class ReconciliationTests
{
    private static readonly DateTime Today = DateTime.UtcNow.Date;
    private static readonly DateTimeOffset ThreeDaysAgo = new(Today.AddDays(-3), TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(30);

    /// <summary>Heart rate and HRV every 30 min from midnight three days ago until an hour ago: 48 a day.</summary>
    private static SimulatedSource NewSource()
    {
        var source = new SimulatedSource([DataType.HeartRate, DataType.HeartRateVariabilitySdnn], ThreeDaysAgo) { Interval = Interval };
        var count = (int)((DateTimeOffset.UtcNow.AddHours(-1) - ThreeDaysAgo) / Interval);
        source.Append(DataType.HeartRate, count);
        source.Append(DataType.HeartRateVariabilitySdnn, count);
        return source;
    }

    private static DateOnly Day(int daysAgo) => DateOnly.FromDateTime(Today.AddDays(-daysAgo));

    /// <summary>Index in the source's log of the <paramref name="n"/>th sample of the UTC day <paramref name="daysAgo"/>.</summary>
    private static int IndexOn(int daysAgo, int n) => ((3 - daysAgo) * 48) + n;

    /// <summary>Deletes samples straight from the server's SQLite file, as a lost write or a bad restore would.</summary>
    private static async Task<int> DeleteOnServerAsync(TestServer server, IEnumerable<Guid> uuids)
    {
        await using var db = new SqliteConnection($"Data Source={Path.Combine(server.Directory, "server.db")};Pooling=False");
        await db.OpenAsync().WaitAsync(TestClient.Timeout);
        var deleted = 0;
        foreach (var uuid in uuids)
        {
            await using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM samples WHERE uuid = $uuid";
            cmd.Parameters.AddWithValue("$uuid", SampleUuid.ToByteString(uuid).ToByteArray());
            deleted += await cmd.ExecuteNonQueryAsync().WaitAsync(TestClient.Timeout);
        }

        return deleted;
    }

    [Fact]
    public async Task Samples_missing_on_the_server_are_resent_and_samples_missing_at_the_source_are_reported_never_deleted()
    {
        await using var server = await TestServer.StartAsync();
        var source = NewSource();
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token, deviceId: "phone-r");
        options.Sources.Add(source);
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            client.Start();
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            var total = await server.CountSamplesAsync();
            Assert.Equal(2L * source.SampleCount(DataType.HeartRate), total);
            var clean = await client.ReconcileAsync().WaitAsync(TestClient.Timeout);
            Assert.Empty(clean.Differences);
            Assert.Equal(2 * 14, clean.Summary.DaysCompared);

            // The server lost 5 heart-rate samples of two days ago; the source lost one HRV sample of yesterday (deleted
            // on the device, its deletion not collected yet: the server still holds it).
            Assert.Equal(5, await DeleteOnServerAsync(server, Enumerable.Range(10, 5).Select(n => source.UuidFor(DataType.HeartRate, IndexOn(2, n)))));
            source.Delete(DataType.HeartRateVariabilitySdnn, source.UuidFor(DataType.HeartRateVariabilitySdnn, IndexOn(1, 7)));

            var result = await client.ReconcileAsync().WaitAsync(TestClient.Timeout);

            Assert.Equal(
                [new ReconciledDay(DataType.HeartRate, Day(2), 48, 43, 48), new ReconciledDay(DataType.HeartRateVariabilitySdnn, Day(1), 47, 48, 47)],
                result.Differences);
            Assert.True(result.Differences[1].ServerHasMore);
            Assert.Equal(new ReconciliationSummary(result.Summary.Time, 28, 2, 1, 95), result.Summary);
            var reported = Assert.Single(events.Of(SyncEventKind.Reconciled), e => e.Reconciliation == result);
            Assert.Equal(95, reported.SampleCount);

            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(total, await server.CountSamplesAsync()); // the 5 are back; nothing was deleted, nothing doubled

            // Healed days compare equal now; the day where the server holds more is reported again, not accepted.
            var again = await client.ReconcileAsync().WaitAsync(TestClient.Timeout);
            var still = Assert.Single(again.Differences);
            Assert.Equal((DataType.HeartRateVariabilitySdnn, Day(1), 47L, 48L, true), (still.Type, still.Day, still.SourceCount, still.ServerCount, still.ServerHasMore));
            var status = await client.GetStatusAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(again.Summary, status.LastReconciliation);
        }
    }

    [Fact]
    public async Task A_sample_the_server_refused_is_left_out_not_resent_and_refused_again_at_every_reconciliation()
    {
        await using var server = await TestServer.StartAsync();
        var set = TestClient.HeartRate(10, end: new DateTimeOffset(Today.AddDays(-1).AddHours(12), TimeSpan.Zero));
        set.Samples[3].ScaledValue = 412; // implausible: rejected, quarantined; the other nine are stored
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token, deviceId: "phone-q");
        options.Sources.Add(new FixedSource(DataType.HeartRate, [set]) { ServesRanges = true });
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            Assert.Equal(9, await server.CountSamplesAsync());
            Assert.Single(await client.GetQuarantineAsync().WaitAsync(TestClient.Timeout));

            // The day compares equal: the refused sample is on neither side.
            var clean = await client.ReconcileAsync().WaitAsync(TestClient.Timeout);
            Assert.Empty(clean.Differences);

            // A day that does differ is resent without the refused sample: the lost one comes back, nothing is refused again.
            Assert.Equal(1, await DeleteOnServerAsync(server, [SampleUuid.ToGuid(set.Samples[7].Uuid)]));
            var healed = await client.ReconcileAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal([new ReconciledDay(DataType.HeartRate, Day(1), 9, 8, 9)], healed.Differences);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(9, await server.CountSamplesAsync());
            Assert.Single(events.Of(SyncEventKind.Quarantined));
            Assert.Single(await client.GetQuarantineAsync().WaitAsync(TestClient.Timeout));
            Assert.Empty((await client.ReconcileAsync().WaitAsync(TestClient.Timeout)).Differences);
        }
    }

    [Fact]
    public async Task DrainAsync_reconciles_only_when_the_last_complete_sync_is_48_hours_old()
    {
        await using var server = await TestServer.StartAsync();
        var source = NewSource();
        var dbPath = Path.Combine(server.Directory, "client.db");
        HealthSyncOptions Options()
        {
            var options = TestClient.Options(server.Address, dbPath, server.Token, deviceId: "phone-d");
            options.Sources.Add(source);
            return options;
        }

        await using (var first = await HealthSyncClient.OpenAsync(Options()).WaitAsync(TestClient.Timeout))
        {
            await first.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
        }

        var total = await server.CountSamplesAsync();
        Assert.Equal(3, await DeleteOnServerAsync(server, Enumerable.Range(0, 3).Select(n => source.UuidFor(DataType.HeartRate, IndexOn(3, n)))));

        // A complete drain just now: the next one does not reconcile (nothing it could learn from the sources is new).
        var (recent, recentEvents) = await TestClient.OpenAsync(Options());
        await using (recent)
        {
            var status = await recent.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            Assert.Empty(recentEvents.Of(SyncEventKind.Reconciled));
            Assert.Null(status.LastReconciliation);
            Assert.Equal(total - 3, await server.CountSamplesAsync());
        }

        // The last complete drain was 49 hours ago.
        await using (var db = new SqliteConnection($"Data Source={dbPath};Pooling=False"))
        {
            await db.OpenAsync().WaitAsync(TestClient.Timeout);
            await using var cmd = db.CreateCommand();
            cmd.CommandText = "UPDATE meta SET value = $ms WHERE key = 'last_complete_sync_ms'";
            cmd.Parameters.AddWithValue("$ms", DateTimeOffset.UtcNow.AddHours(-49).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(1, await cmd.ExecuteNonQueryAsync().WaitAsync(TestClient.Timeout));
        }

        var (late, lateEvents) = await TestClient.OpenAsync(Options());
        await using (late)
        {
            var status = await late.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            var reconciled = Assert.Single(lateEvents.Of(SyncEventKind.Reconciled)).Reconciliation!;
            Assert.Equal(new ReconciledDay(DataType.HeartRate, Day(3), 48, 45, 48), Assert.Single(reconciled.Differences));
            Assert.Equal(reconciled.Summary, status.LastReconciliation);
            Assert.Equal(total, await server.CountSamplesAsync()); // healed within the drain
        }
    }

    [Fact]
    public async Task A_server_that_cannot_answer_is_a_ReconciliationException_and_enqueues_nothing()
    {
        var dir = TempDir.Create();
        var source = NewSource();
        var options = TestClient.Options(FreePort.Reserve(), Path.Combine(dir, "client.db"), "token", deviceId: "phone-u");
        options.Sources.Add(source);
        await using var client = await HealthSyncClient.OpenAsync(options).WaitAsync(TestClient.Timeout);

        var error = await Assert.ThrowsAsync<ReconciliationException>(() => client.ReconcileAsync().WaitAsync(TestClient.Timeout));

        Assert.Equal(Grpc.Core.StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(0, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingSamples);
    }
}
