using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;

namespace HealthGrpc.Server.Tests.Insights;

/// <summary>IInsightStore on a real SQLite file: raise, update in place, close, never duplicate; the change feed carries each state once; retention.</summary>
public sealed class SqliteInsightStoreTests : IAsyncLifetime
{
    private SqliteHealthStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = await SqliteHealthStore.OpenAsync(Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-insights-").FullName, "store.db")).Bounded();
        await _store.CreateUserAsync("alice", CancellationToken.None).Bounded();
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private static InsightFinding Deficit(double average) => new(
        InsightKind.SleepDeficit, 2, 2, 9, "sleep_deficit", $"avg {average}", 1000, 2000, 5, 5.5, average - 6, average, "h", 8);

    private Task<InsightReconciliation> ReconcileAsync(long now, params InsightFinding[] findings) =>
        _store.ReconcileInsightsAsync("alice", findings, now, CancellationToken.None).Bounded();

    private Task<IReadOnlyList<InsightRecord>> ListAsync(bool includeClosed = true) =>
        _store.ListInsightsAsync(new InsightQuery("alice", false, includeClosed, [], null, 100), CancellationToken.None).Bounded();

    [Fact]
    public async Task A_finding_is_raised_once_updated_in_place_and_closed_when_it_no_longer_holds()
    {
        Assert.Equal(new InsightReconciliation(1, 0, 0, 1), await ReconcileAsync(10, Deficit(5.5)));
        // The same finding again (a re-ingested day, a spurious wake-up): nothing is written.
        Assert.Equal(new InsightReconciliation(0, 0, 0, 1), await ReconcileAsync(11, Deficit(5.5)));
        var raised = Assert.Single(await ListAsync());

        Assert.Equal(new InsightReconciliation(0, 1, 0, 2), await ReconcileAsync(12, Deficit(5.4)));
        var updated = Assert.Single(await ListAsync());
        Assert.Equal(raised.InsightId, updated.InsightId);
        Assert.Equal(5.4, updated.Finding.Average);
        Assert.Equal((10L, 12L, 2L), (updated.CreatedUnixMs, updated.UpdatedUnixMs, updated.Sequence));

        Assert.Equal(new InsightReconciliation(0, 0, 1, 3), await ReconcileAsync(13));
        var closed = Assert.Single(await ListAsync());
        Assert.Equal(13, closed.ClosedUnixMs);
        Assert.Empty(await ListAsync(includeClosed: false));

        // The condition holding again is a new insight, not the closed one reopened.
        await ReconcileAsync(14, Deficit(5.5));
        var all = await ListAsync();
        Assert.Equal(2, all.Count);
        Assert.NotEqual(raised.InsightId, all[0].InsightId);
        Assert.Null(all[0].ClosedUnixMs);
    }

    [Fact]
    public async Task Insight_changes_take_the_users_change_sequence_and_appear_once_in_the_feed_at_their_latest_state()
    {
        await ReconcileAsync(10, Deficit(5.5));
        await ReconcileAsync(12, Deficit(5.4));
        var page = await _store.ReadChangesAsync("alice", 0, 100, CancellationToken.None).Bounded();

        var change = Assert.Single(page.Changes);
        Assert.Equal((ChangeKind.Insight, 2L), (change.Kind, change.Sequence));
        Assert.Equal(5.4, change.Insight!.Finding.Average);
        Assert.Equal(2, await _store.GetChangeSequenceAsync("alice", CancellationToken.None).Bounded());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(12), change.CommitTime);
    }

    [Fact]
    public async Task Acknowledging_keeps_the_first_time_moves_the_feed_and_filters_the_list()
    {
        await ReconcileAsync(10, Deficit(5.5));
        var id = (await ListAsync())[0].InsightId;

        Assert.Equal(20, (await _store.AcknowledgeInsightAsync("alice", id, 20, CancellationToken.None).Bounded())!.AcknowledgedUnixMs);
        Assert.Equal(20, (await _store.AcknowledgeInsightAsync("alice", id, 30, CancellationToken.None).Bounded())!.AcknowledgedUnixMs);
        Assert.Null(await _store.AcknowledgeInsightAsync("bob", id, 30, CancellationToken.None).Bounded());
        Assert.Equal(2, await _store.GetChangeSequenceAsync("alice", CancellationToken.None).Bounded());
        Assert.Empty(await _store.ListInsightsAsync(new InsightQuery("alice", true, true, [], null, 100), CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task Retention_purges_insights_closed_before_the_cutoff_and_moves_the_feed_floor()
    {
        await ReconcileAsync(10, Deficit(5.5));
        await ReconcileAsync(20);
        await ReconcileAsync(30, Deficit(5.5));

        Assert.Equal(new PurgeResult(1, false), await _store.PurgeInsightsAsync(25, 10, CancellationToken.None).Bounded());

        var left = Assert.Single(await ListAsync());
        Assert.Null(left.ClosedUnixMs);
        Assert.Equal(2, await _store.GetChangeFloorAsync("alice", CancellationToken.None).Bounded());
    }
}
