using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Postgres.Tests.Faults;
using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>`healthgrpc serve --provider postgres --connection-string …` and the admin verbs, run as the real command.</summary>
public sealed class ServeCommandOnPostgresTests
{
    [Fact]
    public async Task Serve_OnPostgres_AcksASyncStream_AndGetCheckpointReturnsWhatItCommitted()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        var auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(connectionString, "erin"));
        using var server = await ServeProcess.StartAsync(connectionString);
        var device = new TestDevice("watch-1", 3, 10);

        await device.SyncAsync(server.Sync, auth, 3);

        Assert.Equal([1UL, 2UL, 3UL], device.Acks.Keys.Order());
        Assert.All(device.Acks.Values, ack => Assert.Equal((AckOutcome.Committed, 10u), (ack.Outcome, ack.Accepted)));
        var checkpoint = await server.Sync.GetCheckpointAsync(new GetCheckpointRequest { DeviceId = "watch-1" }, auth, DateTime.UtcNow.AddSeconds(30))
            .ResponseAsync.WaitAsync(TestData.Timeout);
        Assert.Equal(("watch-1", 1UL, 3UL), (checkpoint.Device.DeviceId, checkpoint.Device.Epoch, checkpoint.HighWaterMark));
    }

    [Fact]
    public async Task Serve_OnPostgres_GetDailyDigest_CountsAndDigestsWhatTheDeviceSynced_PerUtcDay()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        var auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(connectionString, "erin"));
        using var server = await ServeProcess.StartAsync(connectionString);
        var device = new TestDevice("watch-1", 2, 10);
        await device.SyncAsync(server.Sync, auth, 2);

        var response = await new QueryService.QueryServiceClient(server.Channel).GetDailyDigestAsync(
            new GetDailyDigestRequest { Types_ = { DataType.HeartRate }, StartDay = Timestamp.FromDateTimeOffset(TestDevice.Origin), Days = 2, DeviceId = "watch-1" },
            auth,
            DateTime.UtcNow.AddSeconds(30)).ResponseAsync.WaitAsync(TestData.Timeout);

        // What the SDK's reconciliation computes from its sources for the same day.
        var synced = device.SampleUuids.Aggregate(0ul, (digest, uuid) => SampleDigest.Add(digest, SampleUuid.ToByteString(uuid).Span));
        Assert.Equal([(20ul, synced), (0ul, 0ul)], response.Digests.Select(d => (d.Count, d.Digest)));
    }

    [Fact]
    public async Task Db_OnPostgres_MigratesChecksAndMeasuresPostgres_AndNeverOpensTheSqliteFileOfStore()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        var store = Path.Combine(Path.GetTempPath(), $"pg-db-{Guid.NewGuid():N}.db");

        // In this order: check on a schema nothing migrated yet is a failure (migrations missing), after migrate it passes.
        foreach (var verb in new[] { "migrate", "check", "stats" })
        {
            var (exitCode, stdout, stderr) = await ServeProcess.RunAsync("db", verb, "--provider", "postgres", "--connection-string", connectionString, "--store", store, "--json");
            Assert.True(exitCode == 0, $"db {verb}: exit {exitCode}\n{stdout}\n{stderr}");
        }

        Assert.False(File.Exists(store), "db on --provider postgres must not touch a SQLite file");
    }
}
