using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Insights of a store (<see cref="IInsightStore"/>): raise, update in place, close, never duplicate; each change takes
/// the user's next change sequence and appears once in the feed at its latest state, among the user's ingest changes;
/// acknowledgement, the list's filters, the user's zone, retention. Every provider subclasses this with a fresh, empty
/// store per test.
/// </summary>
public abstract class InsightStoreContract : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private IHealthStore _store = null!;
    private string _user = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    private IInsightStore Insights => Assert.IsAssignableFrom<IInsightStore>(_store);

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync().T30();
        _user = NewUser();
        await _store.CreateUserAsync(_user, None).T30();
    }

    public virtual async Task DisposeAsync() => await _store.DisposeAsync();

    private static InsightFinding Deficit(double average, string code = "sleep_deficit", int severity = 2) => new(
        InsightKind.SleepDeficit, severity, 2, 9, code, $"avg {average}", 1000, 2000, 5, 5.5, average - 6, average, "h", 8);

    private static InsightFinding Activity(double change) => new(
        InsightKind.ActivityChange, 1, 1, 7, "activity_up", $"{change}%", 1000, 2000, 8000, 11000, change, 9500, "count", 7);

    private Task<InsightReconciliation> ReconcileAsync(long now, params InsightFinding[] findings) =>
        Insights.ReconcileInsightsAsync(_user, findings, now, None).T30();

    private Task<IReadOnlyList<InsightRecord>> ListAsync(
        bool includeClosed = true, bool unacknowledgedOnly = false, IReadOnlyList<InsightKind>? kinds = null, long? beforeId = null, int limit = 100) =>
        Insights.ListInsightsAsync(new InsightQuery(_user, unacknowledgedOnly, includeClosed, kinds ?? [], beforeId, limit), None).T30();

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
        Assert.Equal(Deficit(5.4), updated.Finding);
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
    public async Task Findings_of_several_kinds_are_reconciled_in_one_call_and_two_of_one_kind_are_refused()
    {
        Assert.Equal(new InsightReconciliation(2, 0, 0, 2), await ReconcileAsync(10, Deficit(5.5), Activity(40)));
        Assert.Equal(new InsightReconciliation(0, 1, 1, 4), await ReconcileAsync(11, Activity(45)));
        await Assert.ThrowsAsync<ArgumentException>(() => ReconcileAsync(12, Deficit(5.5), Deficit(5.0)));

        Assert.Equal(4, await _store.GetChangeSequenceAsync(_user, None).T30());
        Assert.Equal([InsightKind.ActivityChange], (await ListAsync(includeClosed: false)).Select(i => i.Finding.Kind));
    }

    [Fact]
    public async Task Nothing_is_stored_for_an_unknown_user()
    {
        const string Nobody = "nobody";
        Assert.Equal(new InsightReconciliation(0, 0, 0, 0), await Insights.ReconcileInsightsAsync(Nobody, [Deficit(5.5)], 10, None).T30());
        Assert.Empty(await Insights.ListInsightsAsync(new InsightQuery(Nobody, false, true, [], null, 10), None).T30());
        Assert.False(await Insights.SetInsightTimeZoneAsync(Nobody, "Europe/Paris", None).T30());
        Assert.Null(await Insights.GetInsightTimeZoneAsync(Nobody, None).T30());
    }

    [Fact]
    public async Task Insight_changes_take_the_users_change_sequence_and_appear_once_in_the_feed_at_their_latest_state()
    {
        await ReconcileAsync(10, Deficit(5.5));
        await ReconcileAsync(12, Deficit(5.4));
        var page = await _store.ReadChangesAsync(_user, 0, 100, None).T30();

        var change = Assert.Single(page.Changes);
        Assert.Equal((ChangeKind.Insight, 2L), (change.Kind, change.Sequence));
        Assert.Equal(Deficit(5.4), change.Insight!.Finding);
        Assert.Equal(2, await _store.GetChangeSequenceAsync(_user, None).T30());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(12), change.CommitTime);
    }

    [Fact]
    public async Task Insight_changes_and_ingest_share_one_gap_free_sequence_in_commit_order()
    {
        var first = (await _store.CommitAsync(Batch(_user, "watch", 1, [Sample(), Sample()]), None).T30()).Committed();
        var insight = await ReconcileAsync(10, Deficit(5.5));
        var second = (await _store.CommitAsync(Batch(_user, "watch", 2, [Sample()]), None).T30()).Committed();

        Assert.Equal((2L, 3L, 4L), (first.ChangeSequence, insight.ChangeSequence, second.ChangeSequence));
        var feed = await ReadAllChangesAsync(_store, _user);
        Assert.Equal([1L, 2L, 3L, 4L], feed.Select(c => c.Sequence));
        Assert.Equal([ChangeKind.Sample, ChangeKind.Sample, ChangeKind.Insight, ChangeKind.Sample], feed.Select(c => c.Kind));
        Assert.Equal(string.Empty, feed[2].DeviceId);
        Assert.Equal("watch", feed[3].DeviceId);
    }

    [Fact]
    public async Task Live_subscriptions_are_told_once_a_change_committed_and_not_for_an_unchanged_insight()
    {
        var told = new List<string>();
        // Only this test's user: on PostgreSQL the NOTIFY channel is shared by every schema of the database, so tests
        // running beside this one are heard too.
        using var listening = _store.ChangeNotifications.Listen(users =>
        {
            lock (told)
            {
                told.AddRange(users.Where(user => user == _user));
            }
        });

        await ReconcileAsync(10, Deficit(5.5));
        lock (told)
        {
            // Before the call returned: a subscription woken now reads the committed change.
            Assert.Equal([_user], told);
            told.Clear();
        }

        await ReconcileAsync(11, Deficit(5.5));
        var id = (await ListAsync())[0].InsightId;
        await Insights.AcknowledgeInsightAsync(_user, id, 12, None).T30();
        lock (told)
        {
            Assert.Equal([_user], told);
        }
    }

    [Fact]
    public async Task Acknowledging_keeps_the_first_time_moves_the_feed_and_filters_the_list()
    {
        await ReconcileAsync(10, Deficit(5.5));
        var id = (await ListAsync())[0].InsightId;

        Assert.Equal(20, (await Insights.AcknowledgeInsightAsync(_user, id, 20, None).T30())!.AcknowledgedUnixMs);
        Assert.Equal(20, (await Insights.AcknowledgeInsightAsync(_user, id, 30, None).T30())!.AcknowledgedUnixMs);
        Assert.Null(await Insights.AcknowledgeInsightAsync("bob", id, 30, None).T30());
        Assert.Null(await Insights.AcknowledgeInsightAsync(_user, "ins_none", 30, None).T30());
        Assert.Equal(2, await _store.GetChangeSequenceAsync(_user, None).T30());
        Assert.Empty(await ListAsync(unacknowledgedOnly: true));
        var change = Assert.Single(await ReadAllChangesAsync(_store, _user));
        Assert.Equal((2L, 20L, DateTimeOffset.FromUnixTimeMilliseconds(20)), (change.Sequence, change.Insight!.AcknowledgedUnixMs, change.CommitTime));
    }

    [Fact]
    public async Task A_new_code_or_severity_drops_the_acknowledgement_and_new_figures_keep_it()
    {
        await ReconcileAsync(10, Deficit(5.5));
        var id = (await ListAsync())[0].InsightId;
        await Insights.AcknowledgeInsightAsync(_user, id, 11, None).T30();

        await ReconcileAsync(12, Deficit(5.4));
        Assert.Equal(11, (await ListAsync())[0].AcknowledgedUnixMs);
        await ReconcileAsync(13, Deficit(4.8, severity: 3));
        var reopened = Assert.Single(await ListAsync(unacknowledgedOnly: true));
        Assert.Equal((id, 3), (reopened.InsightId, reopened.Finding.Severity));
    }

    [Fact]
    public async Task The_list_is_newest_first_paged_by_id_and_filtered_by_kind()
    {
        await ReconcileAsync(10, Deficit(5.5));
        await ReconcileAsync(11, Deficit(5.5), Activity(40));
        await ReconcileAsync(12);
        await ReconcileAsync(13, Deficit(5.0));
        var all = await ListAsync();
        Assert.Equal([InsightKind.SleepDeficit, InsightKind.ActivityChange, InsightKind.SleepDeficit], all.Select(i => i.Finding.Kind));
        Assert.True(all[0].Id > all[1].Id && all[1].Id > all[2].Id);

        var firstPage = await ListAsync(limit: 2);
        var secondPage = await ListAsync(limit: 2, beforeId: firstPage[^1].Id);
        Assert.Equal(all.Select(i => i.InsightId), firstPage.Concat(secondPage).Select(i => i.InsightId));
        Assert.Equal([all[1].InsightId], (await ListAsync(kinds: [InsightKind.ActivityChange])).Select(i => i.InsightId));
        Assert.Equal(3, (await ListAsync(kinds: [InsightKind.ActivityChange, InsightKind.SleepDeficit])).Count);
        Assert.Empty(await ListAsync(kinds: [InsightKind.HrvDrop]));
        Assert.Equal([all[0].InsightId], (await ListAsync(includeClosed: false)).Select(i => i.InsightId));
    }

    [Fact]
    public async Task The_zone_is_unset_until_stored_then_replaced_and_cleared()
    {
        Assert.Null(await Insights.GetInsightTimeZoneAsync(_user, None).T30());
        Assert.True(await Insights.SetInsightTimeZoneAsync(_user, "Europe/Paris", None).T30());
        Assert.True(await Insights.SetInsightTimeZoneAsync(_user, "America/New_York", None).T30());
        Assert.Equal("America/New_York", await Insights.GetInsightTimeZoneAsync(_user, None).T30());
        Assert.True(await Insights.SetInsightTimeZoneAsync(_user, null, None).T30());
        Assert.Null(await Insights.GetInsightTimeZoneAsync(_user, None).T30());
    }

    [Fact]
    public async Task Retention_purges_insights_closed_before_the_cutoff_in_bounded_batches_and_moves_the_feed_floor()
    {
        await ReconcileAsync(10, Deficit(5.5), Activity(40));
        await ReconcileAsync(20);
        await ReconcileAsync(30, Deficit(5.5));

        Assert.Equal(new PurgeResult(1, true), await Insights.PurgeInsightsAsync(25, 1, None).T30());
        Assert.Equal(new PurgeResult(1, false), await Insights.PurgeInsightsAsync(25, 10, None).T30());
        Assert.Equal(new PurgeResult(0, false), await Insights.PurgeInsightsAsync(25, 10, None).T30());

        var left = Assert.Single(await ListAsync());
        Assert.Null(left.ClosedUnixMs);
        Assert.Equal(4, await _store.GetChangeFloorAsync(_user, None).T30());
        Assert.Equal([5L], (await ReadAllChangesAsync(_store, _user)).Select(c => c.Sequence));
    }
}
