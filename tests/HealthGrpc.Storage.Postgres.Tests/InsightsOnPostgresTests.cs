using System.Collections.Concurrent;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Postgres.Tests.Faults;
using HealthGrpc.Storage.Tests;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>
/// Insights on PostgreSQL with several instances on one database: insight writes take the user's sequences under the
/// same row lock as ingest (the feed stays gap-free and ordered while both write), they reach the other instances'
/// subscribers through the NOTIFY, and a real `healthgrpc serve` on PostgreSQL serves InsightService.
/// </summary>
public sealed class InsightsOnPostgresTests : TwoStoreInstances
{
    private static InsightFinding Deficit(double average) => new(
        InsightKind.SleepDeficit, 2, 2, 9, "sleep_deficit", $"avg {average}", 1000, 2000, 5, 5.5, average - 6, average, "h", 8);

    [Fact]
    public async Task Insight_writes_on_one_instance_during_ingest_on_another_keep_the_users_feed_gap_free_and_ordered()
    {
        var user = NewUser();
        await A.CreateUserAsync(user, None).T30();
        const int InsightWrites = 30;
        var committedBatches = 0;
        var progress = new AsyncProgress();
        using var insightsDone = new CancellationTokenSource();

        // Ingest on A never waits for the insights: its commits contend with B's insight writes for the user's lock.
        async Task IngestAsync()
        {
            for (var seq = 1UL; ; seq++)
            {
                var stop = insightsDone.IsCancellationRequested;
                (await A.CommitAsync(Batch(user, "watch", seq, Enumerable.Range(0, 5).Select(_ => Sample()).ToList()), None)).Committed();
                Interlocked.Increment(ref committedBatches);
                progress.Signal();
                if (stop)
                {
                    return; // one batch after the last insight write: the feed ends with samples
                }
            }
        }

        // Raise, update, close in turn on B. Before each write, a batch that completed after the previous write (so
        // committed after it): the feed must interleave the two writers' changes.
        async Task WriteInsightsAsync()
        {
            var seen = 0;
            for (var i = 0; i < InsightWrites; i++)
            {
                await progress.WaitBeyondAsync(() => Volatile.Read(ref committedBatches) > seen).T30();
                InsightFinding[] findings = (i % 3) switch { 0 => [Deficit(5.5)], 1 => [Deficit(5.0)], _ => [] };
                Assert.True((await B.ReconcileInsightsAsync(user, findings, 1_000 + i, None)).Changed);
                seen = Volatile.Read(ref committedBatches);
            }

            await insightsDone.CancelAsync();
        }

        // Readers on both instances, incremental like a subscriber: sequences only grow, and everything up to the
        // counter a reader observes is readable at once.
        var violations = new ConcurrentQueue<string>();
        var writersDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<HashSet<long>> ReadAsync(IHealthStore store)
        {
            var seen = new HashSet<long>();
            var last = 0L;
            while (true)
            {
                var done = writersDone.Task.IsCompleted;
                var page = await ReadAllChangesAsync(store, user, last, 50);
                foreach (var change in page)
                {
                    if (change.Sequence <= last)
                    {
                        violations.Enqueue($"after {last} the reader saw {change.Sequence}");
                    }

                    last = change.Sequence;
                    seen.Add(change.Sequence);
                }

                var counter = await store.GetChangeSequenceAsync(user, None);
                var upTo = await ReadAllChangesAsync(store, user, last, 100_000);
                if ((upTo.Count > 0 ? upTo[^1].Sequence : last) < counter)
                {
                    violations.Enqueue($"counter {counter} but the feed ends before it");
                }

                if (done)
                {
                    return seen;
                }
            }
        }

        var readers = new[] { Task.Run(() => ReadAsync(A)), Task.Run(() => ReadAsync(B)) };
        await Task.WhenAll(Task.Run(IngestAsync), Task.Run(WriteInsightsAsync)).WaitAsync(TimeSpan.FromSeconds(120));
        writersDone.SetResult();
        var seenByReaders = await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(violations);
        var feed = await ReadAllChangesAsync(A, user);
        var sequences = feed.Select(c => c.Sequence).ToList();
        Assert.Equal(sequences.Order().Distinct(), sequences);
        Assert.Equal(await B.GetChangeSequenceAsync(user, None).T30(), sequences[^1]);
        // Every change that stayed in the feed was seen by both incremental readers: none committed behind one.
        Assert.All(seenByReaders, seen => Assert.Empty(sequences.Except(seen)));
        // The samples are all there, and the insight changes lie among them (each insight at its latest state).
        Assert.Equal(committedBatches * 5, feed.Count(c => c.Kind == ChangeKind.Sample));
        var insights = feed.Where(c => c.Kind == ChangeKind.Insight).ToList();
        Assert.Equal(InsightWrites / 3, insights.Count);
        Assert.All(insights, c => Assert.NotNull(c.Insight!.ClosedUnixMs));
        for (var i = 1; i < insights.Count; i++)
        {
            Assert.Contains(feed, c => c.Kind == ChangeKind.Sample && c.Sequence > insights[i - 1].Sequence && c.Sequence < insights[i].Sequence);
        }

        Assert.Equal(ChangeKind.Sample, feed[0].Kind);
        Assert.Equal(ChangeKind.Sample, feed[^1].Kind);
    }

    [Fact]
    public async Task An_insight_written_on_one_instance_wakes_the_users_subscribers_on_another()
    {
        var user = NewUser();
        await A.CreateUserAsync(user, None).T30();
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listening = A.ChangeNotifications.Listen(users =>
        {
            if (users.Contains(user))
            {
                heard.TrySetResult();
            }
        });

        await B.ReconcileInsightsAsync(user, [Deficit(5.5)], 10, None).T30();

        await heard.Task.T30();
        var change = Assert.Single((await A.ReadChangesAsync(user, 0, 10, None).T30()).Changes);
        Assert.Equal((ChangeKind.Insight, 1L), (change.Kind, change.Sequence));
    }

    [Fact]
    public async Task Serve_OnPostgres_ListsInsights_AndStreamsAnotherInstancesInsightToASubscriber()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        var auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(connectionString, "erin"));
        // Heartbeats (which also re-read the store) far beyond the test's timeout: only the NOTIFY can wake the subscription.
        using var server = await ServeProcess.StartAsync(connectionString, "--ChangeFeed:HeartbeatInterval", "00:10:00");
        await using var other = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options).T30();
        var feed = new ChangeFeedService.ChangeFeedServiceClient(server.Channel);
        var insights = new InsightService.InsightServiceClient(server.Channel);
        using var stop = new CancellationTokenSource(TestData.Timeout);
        using var subscription = feed.Subscribe(new SubscribeRequest(), auth, cancellationToken: stop.Token);
        var stream = subscription.ResponseStream;
        while (await stream.MoveNext(stop.Token) && stream.Current.KindCase != SubscribeResponse.KindOneofCase.CaughtUp)
        {
        }

        // Written by another instance: the server hears the NOTIFY and streams the change.
        await other.ReconcileInsightsAsync("erin", [Deficit(5.5)], 10, None).T30();
        SubscribeResponse? streamed = null;
        while (await stream.MoveNext(stop.Token))
        {
            if (stream.Current.KindCase == SubscribeResponse.KindOneofCase.Change)
            {
                streamed = stream.Current;
                break;
            }
        }

        Assert.Equal(Contracts.V1.InsightKind.SleepDeficit, streamed!.Change.Insight.Kind);
        var listed = await insights.ListInsightsAsync(new ListInsightsRequest(), auth, DateTime.UtcNow.AddSeconds(30)).ResponseAsync.WaitAsync(TestData.Timeout);
        var insight = Assert.Single(listed.Insights);
        Assert.Equal((streamed.Change.Insight.InsightId, "sleep_deficit", 5.5), (insight.InsightId, insight.Code, insight.Average));
    }

    /// <summary>A signal to wait on for a condition over shared counters (each <see cref="Signal"/> re-checks it).</summary>
    private sealed class AsyncProgress
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Signal()
        {
            TaskCompletionSource previous;
            lock (_gate)
            {
                previous = _next;
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            previous.SetResult();
        }

        public async Task WaitBeyondAsync(Func<bool> condition)
        {
            while (true)
            {
                Task next;
                lock (_gate)
                {
                    next = _next.Task;
                }

                if (condition())
                {
                    return;
                }

                await next.ConfigureAwait(false);
            }
        }
    }
}
