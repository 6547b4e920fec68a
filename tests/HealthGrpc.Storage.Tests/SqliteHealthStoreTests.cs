using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>The store contract on real SQLite files in a temp directory, plus SQLite-specific behavior.</summary>
public sealed class SqliteHealthStoreTests : HealthStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    private static readonly SqliteStoreOptions Options = new()
    {
        GroupCommit = new GroupCommitOptions { MaxDelay = TimeSpan.FromMilliseconds(1) },
    };

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    protected override async Task<IHealthStore> CreateStoreAsync()
        => await SqliteHealthStore.OpenAsync(_directory.File(Guid.NewGuid().ToString("N") + ".db"), Options);

    protected override Task<long> CountSamplesAsync(IHealthStore store, string userId, CancellationToken ct)
        => store.CountSamplesAsync(userId, ct);

    protected override async Task<IHealthStore> ReopenAsync(IHealthStore store)
    {
        var path = ((SqliteHealthStore)store).Path;
        await store.DisposeAsync();
        return await SqliteHealthStore.OpenAsync(path, Options);
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Fact]
    public void Migrate_Twice_IsANoOp()
    {
        using var connection = Open(_directory.File("m.db"));

        Assert.Equal(SqliteSchema.Migrations.Count, SqliteSchema.Migrate(connection));
        var tables = Scalar(connection, "SELECT COUNT(*) FROM sqlite_master");
        Assert.Equal(0, SqliteSchema.Migrate(connection));

        Assert.Equal(SqliteSchema.LatestVersion, SqliteSchema.CurrentVersion(connection));
        Assert.Equal(tables, Scalar(connection, "SELECT COUNT(*) FROM sqlite_master"));
        Assert.Equal((long)SqliteSchema.Migrations.Count, Scalar(connection, "SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public void Migrations_AreOrdered_AndUnique()
    {
        // Strictly increasing, not contiguous: parallel work is given disjoint version ranges (e.g. accounts are 10-11).
        var versions = SqliteSchema.Migrations.Select(m => m.Version).ToList();
        Assert.Equal(versions.Distinct().Order(), versions);
        Assert.Equal(1, versions[0]);
    }

    [Fact]
    public async Task ADatabaseAtTheFirstVersion_IsUpgradedOnOpen_KeepingItsData()
    {
        var path = _directory.File("old.db");
        using (var connection = Open(path))
        {
            SqliteSchema.Migrate(connection, 1);
            Assert.Equal(1, SqliteSchema.CurrentVersion(connection));
        }

        // Data written by the previous version (through the raw path, which only needs the core tables).
        var user = NewUser();
        var samples = Enumerable.Range(0, 50).Select(_ => Sample()).ToList();
        using (var connection = Open(path))
        {
            Assert.Null(Scalar(connection, "SELECT name FROM sqlite_master WHERE name = 'samples_user_type_start'"));
            Assert.Null(Scalar(connection, "SELECT name FROM sqlite_master WHERE name = 'health_probe'"));
        }

        await using (var store = await SqliteHealthStore.OpenAsync(path, Options).T30())
        {
            Assert.Equal(50, (await store.CommitAsync(Batch(user, "d", 1, samples), CancellationToken.None).T30()).Committed().Accepted);
        }

        using (var connection = Open(path))
        {
            Assert.Equal(SqliteSchema.LatestVersion, SqliteSchema.CurrentVersion(connection));
            Assert.Equal("samples_user_uuid", Scalar(connection, "SELECT name FROM sqlite_master WHERE name = 'samples_user_uuid'"));
            Assert.Equal("health_probe", Scalar(connection, "SELECT name FROM sqlite_master WHERE name = 'health_probe'"));
            Assert.Equal(0, SqliteSchema.Migrate(connection));
        }

        await using (var store = await SqliteHealthStore.OpenAsync(path, Options).T30())
        {
            Assert.Equal(50L, await store.CountSamplesAsync(user, CancellationToken.None).T30());
        }
    }

    [Fact]
    public async Task UpgradeFromPreviousVersion_PreservesRowsWrittenBeforeTheUpgrade()
    {
        var path = _directory.File("n-1.db");
        using (var connection = Open(path))
        {
            SqliteSchema.Migrate(connection, SqliteSchema.LatestVersion - 1);
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO users (id, user_id, change_seq, created_ms) VALUES (1, 'old-user', 1, 0);
                INSERT INTO units (id, unit) VALUES (1, 'count/min');
                INSERT INTO sources (id, kind, name, manufacturer, model, hardware_version, software_version, app_id) VALUES (1, 1, '', '', '', '', '', '');
                INSERT INTO devices (id, user_ref, device_id, newest_epoch, last_commit_ms) VALUES (1, 1, 'd', 1, 0);
                INSERT INTO device_epochs (device_ref, epoch, high_water_mark) VALUES (1, 1, 1);
                INSERT INTO batches (device_ref, epoch, batch_seq, user_ref, change_seq, commit_ms, rejected_atomic, ack) VALUES (1, 1, 1, 1, 1, 0, 0, x'01');
                INSERT INTO samples (user_ref, uuid, seq, type, start_ms, end_ms, quantity, unit_ref, source_ref, device_ref)
                VALUES (1, x'00112233445566778899aabbccddeeff', 1, 5, 10, 10, 70.0, 1, 1, 1);
                """;
            command.ExecuteNonQuery();
        }

        await using var store = await SqliteHealthStore.OpenAsync(path, Options).T30();
        Assert.Equal(1L, await store.CountSamplesAsync("old-user", CancellationToken.None).T30());
        var next = (await store.CommitAsync(Batch("old-user", "d", 2, [Sample()]), CancellationToken.None).T30()).Committed();
        Assert.Equal((2UL, 2L), (next.HighWaterMark, next.ChangeSequence));
        var change = Assert.Single(await ReadAllChangesAsync(store, "old-user"), c => c.Sequence == 1);
        Assert.Equal(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"), change.Uuid);
    }

    [Fact]
    public async Task TheFile_IsInWalMode_WithTheExpectedTables()
    {
        var path = _directory.File("wal.db");
        await using var store = await SqliteHealthStore.OpenAsync(path, Options).T30();
        await store.CreateUserAsync("u", CancellationToken.None).T30();

        using var connection = Open(path);
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        foreach (var table in new[] { "users", "tokens", "devices", "device_epochs", "batches", "anchors", "sources", "units", "samples", "series", "waveforms", "tombstones", "replaced_samples", "records" })
        {
            Assert.Equal(table, Scalar(connection, $"SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{table}'"));
        }
    }

    [Fact]
    public async Task Sources_AndUnits_AreStoredOnce()
    {
        var path = _directory.File("dims.db");
        await using (var store = await SqliteHealthStore.OpenAsync(path, Options).T30())
        {
            var user = NewUser();
            for (var seq = 1; seq <= 3; seq++)
            {
                var samples = Enumerable.Range(0, 100).Select(i => Sample(source: i % 2 == 0 ? Watch : Phone with { })).ToList();
                await store.CommitAsync(Batch(user, "d", (ulong)seq, samples), CancellationToken.None).T30();
            }
        }

        using var connection = Open(path);
        Assert.Equal(2L, Scalar(connection, "SELECT COUNT(*) FROM sources"));
        Assert.Equal(1L, Scalar(connection, "SELECT COUNT(*) FROM units"));
    }

    /// <summary>
    /// Makes COMMIT itself fail, deterministically, for any group holding a batch of device "poison": a deferred foreign
    /// key that its batch row violates.
    /// </summary>
    /// <summary>Creates the store with <paramref name="users"/> (committed before any group under test) and a trigger that fails the commit of any group holding a batch of device 'poison'.</summary>
    private static async Task ArmCommitPoisonAsync(string path, params string[] users)
    {
        await using (var seed = await SqliteHealthStore.OpenAsync(path, Options).T30())
        {
            foreach (var user in (string[])["seed", .. users])
            {
                await seed.CreateUserAsync(user, CancellationToken.None).T30();
            }
        }

        using (var connection = Open(path))
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE poison (user_ref INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED);
                CREATE TRIGGER poison_batches AFTER INSERT ON batches
                WHEN (SELECT device_id FROM devices WHERE id = NEW.device_ref) = 'poison'
                BEGIN INSERT INTO poison (user_ref) VALUES (-1); END;
                """;
            command.ExecuteNonQuery();
        }
    }

    [Fact]
    public async Task ACommitFailure_FailsEveryBatchOfTheGroup_AndTheStoreRecovers()
    {
        var path = _directory.File("fail.db");
        var user = NewUser();
        await ArmCommitPoisonAsync(path, user);

        // Groups of exactly three one-sample batches (2 rows each), closed by size rather than by a timer a stalled box
        // could miss: the long delay is never reached.
        var options = Options with { GroupCommit = new GroupCommitOptions { MaxDelay = TimeSpan.FromSeconds(30), MaxRows = 6 } };
        await using var store = await SqliteHealthStore.OpenAsync(path, options).T30();

        var good = store.CommitAsync(Batch(user, "good", 1, [Sample()]), CancellationToken.None);
        var poison = store.CommitAsync(Batch(user, "poison", 1, [Sample()]), CancellationToken.None);
        var good2 = store.CommitAsync(Batch(user, "good2", 1, [Sample()]), CancellationToken.None);

        await Assert.ThrowsAsync<HealthStoreUnavailableException>(() => poison).T30();
        await Assert.ThrowsAsync<HealthStoreUnavailableException>(() => good).T30();
        await Assert.ThrowsAsync<HealthStoreUnavailableException>(() => good2).T30();
        Assert.Equal(0L, await store.CountSamplesAsync(user, CancellationToken.None).T30());
        Assert.Null(await store.GetCheckpointAsync(user, "good", CancellationToken.None).T30());
        Assert.Equal(0L, await store.GetChangeSequenceAsync(user, CancellationToken.None).T30());

        // Nothing was acked, so the clients retry: the store recovered and applies them once (with a third device's
        // batch, to fill the group).
        var retried = await Task.WhenAll(
            store.CommitAsync(Batch(user, "good", 1, [Sample()]), CancellationToken.None),
            store.CommitAsync(Batch(user, "good2", 1, [Sample()]), CancellationToken.None),
            store.CommitAsync(Batch(user, "good3", 1, [Sample()]), CancellationToken.None)).T30();
        Assert.All(retried, r => Assert.Equal((1, 1UL), (r.Committed().Accepted, r.Committed().HighWaterMark)));
        Assert.Equal([1L, 2L, 3L], retried.Select(r => r.Committed().ChangeSequence).Order());
        Assert.Equal(3L, await store.CountSamplesAsync(user, CancellationToken.None).T30());
    }

    [Fact]
    public async Task ACommitFailure_DoesNotPoisonTheIdCaches()
    {
        // Ids (user, source, unit) created in a failed group must not be reused by later groups.
        var path = _directory.File("cache.db");
        await ArmCommitPoisonAsync(path);

        await using var store = await SqliteHealthStore.OpenAsync(path, Options).T30();
        var user = NewUser();
        var source = new SourceRecord(3, "New strap", "Polar", "H10", "", "", "com.polar");
        var sample = Sample(source: source) with { Unit = "new-unit" };
        await Assert.ThrowsAsync<HealthStoreUnavailableException>(() => store.CommitAsync(Batch(user, "poison", 1, [sample]), CancellationToken.None)).T30();

        var result = (await store.CommitAsync(Batch(user, "d", 1, [sample]), CancellationToken.None).T30()).Committed();

        Assert.Equal(1, result.Accepted);
        var stored = Assert.Single(await ReadAllChangesAsync(store, user)).Sample!;
        Assert.Equal((source, "new-unit"), (stored.Source, stored.Unit));
    }

    [Fact]
    public async Task CanceledBeforeTheWriterTookIt_IsNotApplied()
    {
        await using var store = await SqliteHealthStore.OpenAsync(_directory.File("cancel.db"), Options).T30();
        var user = NewUser();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.CommitAsync(Batch(user, "d", 1, [Sample()]), cts.Token)).T30();

        Assert.Equal(new DeviceState(0, 0, false), await store.GetDeviceStateAsync(user, "d", 1, CancellationToken.None).T30());
    }
}
