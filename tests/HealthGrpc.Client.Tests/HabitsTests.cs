using Google.Protobuf;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client.Tests;

/// <summary>What an app team expects of a .NET library: defaults that are asserted, credentials, stop, schema upgrades.</summary>
public sealed class HabitsTests
{
    private static readonly Uri Nowhere = new("http://127.0.0.1:9");

    [Fact]
    public void Defaults_TierOneSpacingAndTimeout_AndTheTierOfEveryType()
    {
        var options = new HealthSyncOptions { ServerAddress = Nowhere, DatabasePath = "x.db" };
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)], options.ImmediateRetryDelays);
        Assert.Equal(TimeSpan.FromSeconds(10), options.ImmediateAttemptTimeout);
        var expected = new Dictionary<DataType, SyncTier>
        {
            [DataType.HeartRate] = SyncTier.Batch,
            [DataType.HeartRateVariabilitySdnn] = SyncTier.Immediate,
            [DataType.RestingHeartRate] = SyncTier.Immediate,
            [DataType.Steps] = SyncTier.Batch,
            [DataType.Distance] = SyncTier.Batch,
            [DataType.ActiveEnergy] = SyncTier.Batch,
            [DataType.BasalEnergy] = SyncTier.Batch,
            [DataType.ExerciseTime] = SyncTier.Immediate,
            [DataType.SleepAnalysis] = SyncTier.Immediate,
            [DataType.Ecg] = SyncTier.Immediate,
            [DataType.OxygenSaturation] = SyncTier.Batch,
            [DataType.BloodPressureSystolic] = SyncTier.Batch,
            [DataType.BloodPressureDiastolic] = SyncTier.Batch,
            [DataType.BodyMass] = SyncTier.Batch,
            [DataType.BodyFatPercentage] = SyncTier.Batch,
            [DataType.BloodGlucose] = SyncTier.Batch,
            [DataType.RespiratoryRate] = SyncTier.Batch,
            [DataType.Workout] = SyncTier.Batch,
            [DataType.RrInterval] = SyncTier.Batch,
        };

        // Every type of the contract has its tier decided here: a new type fails this test until it is added.
        Assert.Equal(
            Enum.GetValues<DataType>().Where(t => t is not DataType.Unspecified and not DataType.Vendor).Order(),
            expected.Keys.Order());
        Assert.Equal(19, expected.Count);
        foreach (var (type, tier) in expected)
        {
            Assert.True(SyncTiers.DefaultFor(type) == tier, $"{type}: {SyncTiers.DefaultFor(type)}, expected {tier}");
            Assert.Equal(tier, options.TierOf(type));
        }
    }

    [Fact]
    public async Task UpdateToken_StandsInForTheProvider_OnlyUntilTheServerRefusesIt()
    {
        await using var server = await TestServer.StartAsync();
        var provider = new CountingCredentials(server.Token);
        var o = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), null);
        var options = new HealthSyncOptions
        {
            ServerAddress = o.ServerAddress,
            DatabasePath = o.DatabasePath,
            CredentialsProvider = provider,
            AckTimeout = o.AckTimeout,
            RetryBaseDelay = o.RetryBaseDelay,
            RetryMaxDelay = o.RetryMaxDelay,
            IdleTimeout = o.IdleTimeout,
            CredentialsRetryInterval = TimeSpan.FromMinutes(10), // a pause on the refused token would outlast the test
        };
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            client.UpdateToken("expired-" + Guid.NewGuid().ToString("N"));
            await client.EnqueueAsync([TestClient.HeartRate(10)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(10, await server.CountSamplesAsync());
            Assert.Single(events.Of(SyncEventKind.Paused)); // refused once, then the provider's token again
            Assert.True(provider.Calls > 0);
        }
    }

    [Fact]
    public async Task StopAsync_StaysStopped_UntilStart()
    {
        await using var server = await TestServer.StartAsync();
        var (client, events) = await TestClient.OpenAsync(TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token));
        await using (client)
        {
            client.Start();
            await client.StopAsync().WaitAsync(TestClient.Timeout);
            var result = await client.SendImmediateAsync([TestClient.Single(DataType.HeartRateVariabilitySdnn, 40)]).WaitAsync(TestClient.Timeout);
            Assert.False(result.Delivered);
            Assert.Equal(0, result.Attempts);
            await Assert.ThrowsAsync<SyncStoppedException>(() => client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout));
            await Assert.ThrowsAsync<SyncStoppedException>(() => client.DrainAsync().WaitAsync(TestClient.Timeout));
            Assert.Equal(SyncState.Stopped, client.State);
            Assert.Empty(events.Of(SyncEventKind.Sent));
            Assert.Equal(0, await server.CountSamplesAsync());

            client.Start();
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(1, await server.CountSamplesAsync());
        }
    }

    /// <summary>The schema of the SDK before this version (user_version 1), as it wrote it, with a pending batch in it.</summary>
    private const string SchemaV1 = """
        PRAGMA journal_mode=WAL;
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE batches(
          id INTEGER PRIMARY KEY AUTOINCREMENT, tier INTEGER NOT NULL, status INTEGER NOT NULL, seq INTEGER NULL,
          atomic INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL,
          sample_count INTEGER NOT NULL, bytes INTEGER NOT NULL, anchors BLOB NULL, payload BLOB NOT NULL, last_error TEXT NULL,
          reject_reason INTEGER NULL, quarantined_ms INTEGER NULL, anchor_gen INTEGER NULL, hard_failures INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX ix_batches_dispatch ON batches(status, tier, id);
        CREATE UNIQUE INDEX ix_batches_seq ON batches(seq) WHERE seq IS NOT NULL;
        CREATE TABLE anchors(
          type INTEGER NOT NULL, vendor_type TEXT NOT NULL, committed BLOB NULL, committed_gen INTEGER NOT NULL DEFAULT 0,
          committed_ms INTEGER NOT NULL DEFAULT 0, enqueued BLOB NULL, enqueued_gen INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(type, vendor_type));
        CREATE INDEX ix_batches_anchor_gen ON batches(anchor_gen) WHERE anchor_gen IS NOT NULL;
        CREATE INDEX ix_batches_quarantined ON batches(quarantined_ms) WHERE status = 2;
        CREATE TABLE deferred_anchors(gen INTEGER PRIMARY KEY, anchors BLOB NOT NULL);
        INSERT INTO meta(key, value) VALUES ('device_id', 'phone-v1'), ('epoch', '0'), ('restored', '0'), ('last_seq', '0'), ('created_ms', '1764547200000');
        PRAGMA user_version = 1;
        """;

    [Fact]
    public async Task Store_WrittenByThePreviousVersion_IsMigrated_AndItsQueueDelivered()
    {
        await using var server = await TestServer.StartAsync();
        var db = Path.Combine(server.Directory, "client-v1.db");
        var batch = new Batch { Priority = Priority.Batch };
        batch.SampleSets.Add(TestClient.HeartRate(25));
        await using (var old = new SqliteConnection($"Data Source={db};Pooling=false"))
        {
            await old.OpenAsync();
            using var cmd = old.CreateCommand();
            cmd.CommandText = SchemaV1 + """
                INSERT INTO batches(tier, status, atomic, next_attempt_ms, created_ms, sample_count, bytes, payload)
                VALUES (2, 0, 0, 0, 1764547200000, 25, $bytes, $payload);
                """;
            var payload = batch.ToByteArray();
            cmd.Parameters.AddWithValue("$bytes", payload.Length);
            cmd.Parameters.AddWithValue("$payload", payload);
            await cmd.ExecuteNonQueryAsync();
        }

        var (client, _) = await TestClient.OpenAsync(TestClient.Options(server.Address, db, server.Token));
        await using (client)
        {
            Assert.Equal("phone-v1", client.DeviceId);
            Assert.Equal(25, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingSamples);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(25, await server.CountSamplesAsync());
            var saved = await client.SaveRecordAsync("com.example/session", "s-1", "{}"u8.ToArray()).WaitAsync(TestClient.Timeout); // needs version 2's table
            Assert.True(saved.Version > 0);
        }

        await using var check = new SqliteConnection($"Data Source={db};Pooling=false");
        await check.OpenAsync();
        using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal((long)SyncStoreSchema.Current, (long)(await version.ExecuteScalarAsync())!);
    }

    private sealed class CountingCredentials(string token) : ICredentialsProvider
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<string?> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return ValueTask.FromResult<string?>(token);
        }
    }
}
