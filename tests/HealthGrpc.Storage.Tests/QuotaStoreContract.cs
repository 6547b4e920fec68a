using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Quota overrides and usage of a store (<see cref="IQuotaStore"/>): what the server checks each batch against. Every
/// provider subclasses this with a fresh, empty store per test.
/// </summary>
public abstract class QuotaStoreContract : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private IHealthStore _store = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    private IQuotaStore Quotas => Assert.IsAssignableFrom<IQuotaStore>(_store);

    public async Task InitializeAsync() => _store = await CreateStoreAsync().T30();

    public virtual async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task Overrides_AreNullForAnUnknownUser_DefaultsUntilSet_ThenReplacedWhole()
    {
        Assert.Null(await Quotas.GetQuotaOverrideAsync("nobody", None).T30());
        Assert.False(await Quotas.SetQuotaOverrideAsync("nobody", new QuotaOverride(1, 2, 3), None).T30());
        await _store.CreateUserAsync("alice", None).T30();
        Assert.Equal(new QuotaOverride(null, null, null), await Quotas.GetQuotaOverrideAsync("alice", None).T30());

        Assert.True(await Quotas.SetQuotaOverrideAsync("alice", new QuotaOverride(3, 0, 1_000_000), None).T30());
        Assert.Equal(new QuotaOverride(3, 0, 1_000_000), await Quotas.GetQuotaOverrideAsync("alice", None).T30());
        Assert.True(await Quotas.SetQuotaOverrideAsync("alice", new QuotaOverride(null, 500, null), None).T30());
        Assert.Equal(new QuotaOverride(null, 500, null), await Quotas.GetQuotaOverrideAsync("alice", None).T30());
    }

    [Fact]
    public async Task Usage_CountsDevices_ItemsSinceATime_AndStoredBytesOnlyWhenAsked()
    {
        var user = NewUser();
        Assert.Equal(new QuotaUsage(0, 0, 0), await Quotas.GetUsageAsync(user, 0, withStoredBytes: true, None).T30());
        var samples = Enumerable.Range(0, 10).Select(i => Sample(start: 1_700_000_000_000 + i * 1000L)).ToList();
        await _store.CommitAsync(Batch(user, "d1", 1, samples), None).T30();
        var series = Series(points: 60);
        await _store.CommitAsync(Batch(user, "d2", 1, [Sample()], series: [series], waveforms: [Waveform(Guid.NewGuid(), 0)]), None).T30();
        await _store.CommitAsync(Batch(NewUser(), "d1", 1, [Sample()]), None).T30();

        var all = await Quotas.GetUsageAsync(user, 0, withStoredBytes: true, None).T30();
        var later = await Quotas.GetUsageAsync(user, DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds(), withStoredBytes: false, None).T30();

        const long Row = QuotaUsage.RowBytes;
        Assert.Equal(new QuotaUsage(2, 13, (11 * Row) + (series.Payload.Length + Row) + (4 + Row)), all);
        Assert.Equal(new QuotaUsage(2, 0, 0), later);
    }

    [Fact]
    public async Task Usage_ItemsSince_CountsOnlyBatchesCommittedFromThen()
    {
        var user = NewUser();
        var first = (await _store.CommitAsync(Batch(user, "d1", 1, [Sample(), Sample()]), None).T30()).Committed();
        var between = await WaitForTheClockToPassAsync(first.CommitTime);
        await _store.CommitAsync(Batch(user, "d1", 2, [Sample(), Sample(), Sample()]), None).T30();

        Assert.Equal(3, (await Quotas.GetUsageAsync(user, between, withStoredBytes: false, None).T30()).ItemsSince);
    }

    // A time strictly after the first commit and before the next (commit times are the store's clock, in ms).
    private static async Task<long> WaitForTheClockToPassAsync(DateTimeOffset committed)
    {
        var after = committed.ToUnixTimeMilliseconds() + 1;
        while (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() <= after)
        {
            await Task.Delay(5);
        }

        return after;
    }
}
