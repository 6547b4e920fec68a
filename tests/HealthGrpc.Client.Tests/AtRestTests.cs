using System.Security.Cryptography;
using System.Text;
using HealthGrpc.Client.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client.Tests;

/// <summary>The queue at rest: payloads encrypted with the app's key, files owner-only.</summary>
public sealed class AtRestTests
{
    private static readonly Uri Nowhere = new("http://127.0.0.1:9");
    private static readonly byte[] Marker = Encoding.UTF8.GetBytes("diagnosis:atrial-fibrillation-7f3a");

    private static HealthSyncOptions Options(Uri address, string db, string? token, IQueueKeyProvider? keys)
    {
        var o = TestClient.Options(address, db, token);
        return new HealthSyncOptions
        {
            ServerAddress = o.ServerAddress,
            DatabasePath = o.DatabasePath,
            AccessToken = o.AccessToken,
            MaxSamplesPerBatch = o.MaxSamplesPerBatch,
            AckTimeout = o.AckTimeout,
            RetryBaseDelay = o.RetryBaseDelay,
            RetryMaxDelay = o.RetryMaxDelay,
            IdleTimeout = o.IdleTimeout,
            QueueKeyProvider = keys,
        };
    }

    [Fact]
    public async Task QueuedPayloads_AreEncrypted_WithTheAppsKey_AndStillDelivered()
    {
        await using var server = await TestServer.StartAsync();
        var db = Path.Combine(server.Directory, "client.db");
        var keys = new StaticQueueKeyProvider(RandomNumberGenerator.GetBytes(32));
        await using (var client = await HealthSyncClient.OpenAsync(Options(Nowhere, db, server.Token, keys)).WaitAsync(TestClient.Timeout))
        {
            await client.SaveRecordAsync("com.example/note", "n-1", Marker).WaitAsync(TestClient.Timeout);
            await client.EnqueueAsync([TestClient.HeartRate(50)]).WaitAsync(TestClient.Timeout);
            var content = await client.GetQueuedBatchContentAsync((await client.GetQueuedBatchesAsync().WaitAsync(TestClient.Timeout))[0].Id).WaitAsync(TestClient.Timeout);
            Assert.Equal(Marker, content!.Records[0].Payload.ToByteArray()); // the SDK reads its own queue
        }

        Assert.False(ContainsInAnyFile(db, Marker), "the record's payload is readable in the database files");

        // The wrong key and no key are refused at open, before anything is read or sent.
        var wrong = await Assert.ThrowsAsync<LocalStoreException>(() =>
            HealthSyncClient.OpenAsync(Options(Nowhere, db, server.Token, new StaticQueueKeyProvider(RandomNumberGenerator.GetBytes(32)))).WaitAsync(TestClient.Timeout));
        Assert.Contains("another key", wrong.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<LocalStoreException>(() => HealthSyncClient.OpenAsync(Options(Nowhere, db, server.Token, null)).WaitAsync(TestClient.Timeout));

        await using (var client = await HealthSyncClient.OpenAsync(Options(server.Address, db, server.Token, keys)).WaitAsync(TestClient.Timeout))
        {
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(50, await server.CountSamplesAsync());
            var record = (await ModelTests.ReadAllChangesAsync(server)).Single(c => c.Record is not null).Record!;
            Assert.Equal(Marker, record.Payload);
        }
    }

    [Fact]
    public async Task PlaintextStore_OpenedWithAKey_IsEncryptedInPlace()
    {
        var db = Path.Combine(TempDir.Create(), "client.db");
        await using (var plain = await HealthSyncClient.OpenAsync(Options(Nowhere, db, "t", null)).WaitAsync(TestClient.Timeout))
        {
            await plain.SaveRecordAsync("com.example/note", "n-1", Marker).WaitAsync(TestClient.Timeout);
        }

        Assert.True(ContainsInAnyFile(db, Marker), "the unencrypted store should hold the payload in clear (else this test proves nothing)");
        var keys = new StaticQueueKeyProvider(RandomNumberGenerator.GetBytes(32));
        await using (var encrypted = await HealthSyncClient.OpenAsync(Options(Nowhere, db, "t", keys)).WaitAsync(TestClient.Timeout))
        {
            var id = (await encrypted.GetQueuedBatchesAsync().WaitAsync(TestClient.Timeout)).Single().Id;
            Assert.Equal(Marker, (await encrypted.GetQueuedBatchContentAsync(id).WaitAsync(TestClient.Timeout))!.Records[0].Payload.ToByteArray());
        }

        await using (var vacuum = new SqliteConnection($"Data Source={db};Pooling=false"))
        {
            // The old cleartext pages may linger in free pages of the file until SQLite reuses them: VACUUM shows the live content.
            await vacuum.OpenAsync();
            using var cmd = vacuum.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;";
            await cmd.ExecuteNonQueryAsync();
        }

        Assert.False(ContainsInAnyFile(db, Marker), "the payload is still readable after the store was encrypted");
    }

    [Fact]
    public async Task DatabaseFiles_AreOwnerOnly()
    {
        var db = Path.Combine(TempDir.Create(), "client.db");
        await using var client = await HealthSyncClient.OpenAsync(Options(Nowhere, db, "t", null)).WaitAsync(TestClient.Timeout);
        await client.EnqueueAsync([TestClient.HeartRate(5)]).WaitAsync(TestClient.Timeout);
        foreach (var file in new[] { db, db + "-wal", db + "-shm" })
        {
            Assert.True(File.Exists(file), file);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    private static bool ContainsInAnyFile(string db, byte[] needle) =>
        new[] { db, db + "-wal" }.Where(File.Exists).Any(f => Read(f).AsSpan().IndexOf(needle) >= 0);

    private static byte[] Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
