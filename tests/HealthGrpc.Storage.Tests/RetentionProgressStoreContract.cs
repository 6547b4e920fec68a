using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// The ack compaction's saved position (<see cref="IRetentionProgressStore"/>): never past a batch too young, kept
/// across a reopen. Every provider subclasses this with a fresh, empty store per test.
/// </summary>
public abstract class RetentionProgressStoreContract : IAsyncLifetime
{
    private const long Old = 1_700_000_000_000;
    private static readonly CancellationToken None = CancellationToken.None;
    private IHealthStore _store = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    /// <summary>Disposes <paramref name="store"/> and opens the same database again.</summary>
    protected abstract Task<IHealthStore> ReopenAsync(IHealthStore store);

    private IRetentionProgressStore Progress => Assert.IsAssignableFrom<IRetentionProgressStore>(_store);

    public async Task InitializeAsync() => _store = await CreateStoreAsync().T30();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task Ack_compaction_never_passes_a_batch_too_young_and_its_position_survives_a_reopen()
    {
        var user = NewUser();
        for (ulong seq = 1; seq <= 4; seq++)
        {
            var samples = Enumerable.Range(0, 2).Select(i => Sample(start: Old + (long)seq * 10_000 + i * 1000L, value: 60 + i)).ToList();
            await _store.CommitAsync(Batch(user, "d", seq, samples), None).T30();
        }

        // Every batch is younger than the limit: nothing is compacted and the position stays before them, so a later
        // sweep, once they are old, still finds them.
        var retention = Assert.IsAssignableFrom<IRetentionStore>(_store);
        var tooYoung = await retention.CompactAcksAsync(0, 0, 10, None).T30();
        Assert.Equal((0, 0L, true), (tooYoung.Compacted, tooYoung.Position, tooYoung.Done));
        Assert.Equal(0L, await Progress.GetAckCompactionPositionAsync(None).T30());

        var old = await retention.CompactAcksAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), tooYoung.Position, 10, None).T30();
        Assert.Equal((3, true), (old.Compacted, old.Done)); // the epoch's latest batch keeps its ack
        Assert.True(old.Position > 0);

        _store = await ReopenAsync(_store).T30();
        Assert.Equal(old.Position, await Progress.GetAckCompactionPositionAsync(None).T30());
    }
}
