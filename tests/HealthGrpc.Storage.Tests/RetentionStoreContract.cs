using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Retention of a store (<see cref="IRetentionStore"/>): bounded purges, the change-feed floor, rollups kept, purged
/// ranges never stored again, ingest between batches, ack compaction. Every provider subclasses this with a fresh,
/// empty store per test.
/// </summary>
public abstract class RetentionStoreContract : IAsyncLifetime
{
    private const long Old = 1_700_000_000_000;
    private const long Recent = Old + 30L * 86_400_000;
    private static readonly CancellationToken None = CancellationToken.None;
    private IHealthStore _store = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    /// <summary>Disposes <paramref name="store"/> and opens the same database again.</summary>
    protected abstract Task<IHealthStore> ReopenAsync(IHealthStore store);

    /// <summary>The user's stored discrete samples, counted outside the store (the product has no such method).</summary>
    protected abstract Task<long> CountSamplesAsync(IHealthStore store, string userId, CancellationToken ct);

    private IRetentionStore Retention => Assert.IsAssignableFrom<IRetentionStore>(_store);

    public async Task InitializeAsync() => _store = await CreateStoreAsync().T30();

    public virtual async Task DisposeAsync() => await _store.DisposeAsync();

    private static List<SampleRecord> HeartRateSamples(int count, long start) =>
        Enumerable.Range(0, count).Select(i => Sample(start: start + i * 1000L, value: 60 + i % 40)).ToList();

    [Fact]
    public async Task Purge_takes_bounded_batches_moves_the_floor_and_keeps_the_rollups()
    {
        var user = NewUser();
        await _store.CommitAsync(Batch(user, "d", 1, HeartRateSamples(1000, Old)), None).T30();
        await _store.CommitAsync(Batch(user, "d", 2, HeartRateSamples(10, Recent)), None).T30();
        var rollups = await _store.ReadRollupsAsync(user, HeartRate, long.MinValue, long.MaxValue, None).T30();

        var calls = new List<PurgeResult>();
        PurgeResult result;
        do
        {
            result = await Retention.PurgeAsync(HeartRate, Recent, 300, None).T30();
            calls.Add(result);
        }
        while (result.More);

        Assert.Equal([300, 300, 300, 100], calls.Select(call => call.Purged));
        Assert.Equal(10L, await CountSamplesAsync(_store, user, None).T30());
        Assert.Equal(1000L, await _store.GetChangeFloorAsync(user, None).T30());
        Assert.Equal(rollups, await _store.ReadRollupsAsync(user, HeartRate, long.MinValue, long.MaxValue, None).T30());
        var feed = await ReadAllChangesAsync(_store, user, after: 1000);
        Assert.Equal(Enumerable.Range(1001, 10).Select(i => (long)i), feed.Select(change => change.Sequence));
    }

    [Fact]
    public async Task Purge_removes_series_and_waveforms_of_the_type_only_and_leaves_other_types()
    {
        var user = NewUser();
        var steps = Sample(start: Old) with { Type = Steps, Unit = "count" };
        var ecg = Guid.NewGuid();
        await _store.CommitAsync(Batch(user, "d", 1, [steps], series: [Series()], waveforms: [Waveform(ecg, 0), Waveform(ecg, 1)]), None).T30();

        var heartRate = await Retention.PurgeAsync(HeartRate, Recent, 100, None).T30();
        var ecgPurge = await Retention.PurgeAsync(Ecg, Recent, 100, None).T30();

        Assert.Equal((1, false), (heartRate.Purged, heartRate.More));
        Assert.Equal((2, false), (ecgPurge.Purged, ecgPurge.More));
        Assert.Equal(0L, await _store.CountSeriesPointsAsync(user, None).T30());
        Assert.Equal(1L, await CountSamplesAsync(_store, user, None).T30());
        Assert.Equal(4L, await _store.GetChangeFloorAsync(user, None).T30());
    }

    [Fact]
    public async Task An_upload_into_a_purged_range_is_ignored_also_after_a_reopen()
    {
        var user = NewUser();
        var old = HeartRateSamples(5, Old);
        await _store.CommitAsync(Batch(user, "d", 1, old), None).T30();
        await Retention.PurgeAsync(HeartRate, Recent, 100, None).T30();
        var rollups = await _store.ReadRollupsAsync(user, HeartRate, long.MinValue, long.MaxValue, None).T30();

        var resent = (await _store.CommitAsync(Batch(user, "d", 2, old), None).T30()).Committed();
        _store = await ReopenAsync(_store).T30();
        var again = (await _store.CommitAsync(Batch(user, "d", 3, [.. HeartRateSamples(2, Old), .. HeartRateSamples(1, Recent)]), None).T30()).Committed();

        Assert.Equal((0, 5), (resent.Accepted, resent.IgnoredDeleted));
        Assert.Equal((1, 2), (again.Accepted, again.IgnoredDeleted));
        Assert.Equal(1L, await CountSamplesAsync(_store, user, None).T30());
        Assert.Equal(rollups, await _store.ReadRollupsAsync(user, HeartRate, long.MinValue, Old + 86_400_000L, None).T30());
    }

    [Fact]
    public async Task Ingest_commits_between_two_purge_batches()
    {
        var user = NewUser();
        for (ulong seq = 1; seq <= 4; seq++)
        {
            await _store.CommitAsync(Batch(user, "d", seq, HeartRateSamples(5000, Old + (long)seq * 10_000_000)), None).T30();
        }

        var first = await Retention.PurgeAsync(HeartRate, Recent, 2000, None).T30();
        var ingest = _store.CommitAsync(Batch(user, "d", 5, HeartRateSamples(10, Recent)), None);
        var second = await Retention.PurgeAsync(HeartRate, Recent, 2000, None).T30();

        // The writer's queue is first in, first out: the batch queued after one purge batch commits before the next.
        Assert.True(first.More && second.More);
        Assert.True(ingest.IsCompletedSuccessfully);
        Assert.Equal(10, (await ingest.T30()).Committed().Accepted);
    }

    [Fact]
    public async Task Compaction_keeps_each_epochs_latest_ack_and_replays_stay_duplicates()
    {
        var user = NewUser();
        for (ulong seq = 1; seq <= 5; seq++)
        {
            await _store.CommitAsync(Batch(user, "d", seq, HeartRateSamples(2, Old + (long)seq * 10_000)), None).T30();
        }

        var latestAck = Assert.IsType<CommitOutcome.Duplicate>(await _store.CommitAsync(Batch(user, "d", 5), None).T30()).OriginalAckBytes;
        var now = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds();
        var firstStep = await Retention.CompactAcksAsync(now, 0, 3, None).T30();
        var secondStep = await Retention.CompactAcksAsync(now, firstStep.Position, 3, None).T30();

        Assert.Equal((3, false), (firstStep.Compacted, firstStep.Done));
        Assert.Equal((1, true), (secondStep.Compacted, secondStep.Done));
        var compacted = Assert.IsType<CommitOutcome.Duplicate>(await _store.CommitAsync(Batch(user, "d", 2), None).T30());
        Assert.Equal((0, 5ul), (compacted.OriginalAckBytes.Length, compacted.HighWaterMark));
        var kept = Assert.IsType<CommitOutcome.Duplicate>(await _store.CommitAsync(Batch(user, "d", 5), None).T30());
        Assert.Equal(latestAck, kept.OriginalAckBytes);
        Assert.NotEmpty(kept.OriginalAckBytes);
    }
}
