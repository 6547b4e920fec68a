using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>SQLite's ack compaction position (IRetentionProgressStore): never past a batch too young, kept across a reopen.</summary>
public sealed class SqliteRetentionProgressTests : IAsyncLifetime, IDisposable
{
    private const long Old = 1_700_000_000_000;
    private readonly TempDirectory _directory = new();
    private SqliteHealthStore _store = null!;

    public async Task InitializeAsync() => _store = await SqliteHealthStore.OpenAsync(_directory.File("retention.db")).T30();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public async Task Ack_compaction_never_passes_a_batch_too_young_and_its_position_survives_a_reopen()
    {
        var user = NewUser();
        for (ulong seq = 1; seq <= 4; seq++)
        {
            var samples = Enumerable.Range(0, 2).Select(i => Sample(start: Old + (long)seq * 10_000 + i * 1000L, value: 60 + i)).ToList();
            await _store.CommitAsync(Batch(user, "d", seq, samples), CancellationToken.None).T30();
        }

        // Every batch is younger than the limit: nothing is compacted and the position stays before them, so a later
        // sweep, once they are old, still finds them.
        var tooYoung = await _store.CompactAcksAsync(0, 0, 10, CancellationToken.None).T30();
        Assert.Equal((0, 0L, true), (tooYoung.Compacted, tooYoung.Position, tooYoung.Done));
        Assert.Equal(0L, await _store.GetAckCompactionPositionAsync(CancellationToken.None).T30());

        var old = await _store.CompactAcksAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), tooYoung.Position, 10, CancellationToken.None).T30();
        Assert.Equal((3, true), (old.Compacted, old.Done)); // the epoch's latest batch keeps its ack
        Assert.True(old.Position > 0);

        await _store.DisposeAsync();
        _store = await SqliteHealthStore.OpenAsync(_directory.File("retention.db")).T30();
        Assert.Equal(old.Position, await _store.GetAckCompactionPositionAsync(CancellationToken.None).T30());
    }
}
