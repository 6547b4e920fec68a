using System.Collections.Concurrent;
using HealthGrpc.Storage.Tests;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>
/// Two store instances (two data sources: two "server instances") on ONE database, hammering the same user and device
/// concurrently: per-user change sequences gap-free as readers see them, batch_seq order, duplicate replay and epoch
/// fencing across instances, and commits of one instance heard on the other.
/// </summary>
public sealed class ManyInstancesTests : TwoStoreInstances
{
    [Fact]
    public async Task AReader_NeverSeesChangeNPlus1_WhileNCanStillCommit_WithTwoInstancesWriting()
    {
        var user = NewUser();
        const int DevicesPerInstance = 3, Batches = 12;
        using var writersDone = new CancellationTokenSource();

        // Samples, series and tombstones: the feed merges three tables, so a reader that saw them at different moments
        // (no snapshot), or sequences that commit out of order, shows a hole that is later filled.
        async Task WriteAsync(IHealthStore store, string device)
        {
            for (var seq = 1UL; seq <= Batches; seq++)
            {
                var samples = Enumerable.Range(0, 15).Select(_ => Sample()).ToList();
                var deletions = seq % 2 == 0 ? new List<TombstoneRecord> { new(Guid.NewGuid(), 1) } : [];
                var series = seq % 3 == 0 ? new List<SeriesRecord> { Series(points: 10) } : [];
                (await store.CommitAsync(Batch(user, device, seq, samples, deletions: deletions, series: series), None)).Committed();
            }
        }

        var violations = new ConcurrentQueue<string>();
        async Task<long> ReadAsync(IHealthStore store)
        {
            var last = 0L;
            var reads = 0;
            while (true)
            {
                var done = writersDone.IsCancellationRequested;
                var page = await store.ReadChangesAsync(user, last, 40, None);
                reads++;
                foreach (var change in page.Changes)
                {
                    if (change.Sequence != last + 1)
                    {
                        violations.Enqueue($"after {last} the reader saw {change.Sequence} (read {reads})");
                    }

                    last = change.Sequence;
                }

                // Everything up to the counter a reader observes is readable at once (the counter moves with the rows).
                var counter = await store.GetChangeSequenceAsync(user, None);
                var upTo = await store.ReadChangesAsync(user, last, 100_000, None);
                var end = upTo.Changes.Count > 0 ? upTo.Changes[^1].Sequence : last;
                if (end < counter)
                {
                    violations.Enqueue($"counter {counter} but the feed ends at {end}");
                }

                if (done && !page.HasMore && page.Changes.Count == 0)
                {
                    return last;
                }
            }
        }

        var readers = new[] { Task.Run(() => ReadAsync(A)), Task.Run(() => ReadAsync(B)) };
        var writers = Enumerable.Range(0, DevicesPerInstance)
            .SelectMany(d => new[] { Task.Run(() => WriteAsync(A, $"a-{d}")), Task.Run(() => WriteAsync(B, $"b-{d}")) })
            .ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(90));
        await writersDone.CancelAsync();
        var seen = await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(violations);
        var expected = 2 * DevicesPerInstance * Batches * 15 + 2 * DevicesPerInstance * (Batches / 2) + 2 * DevicesPerInstance * (Batches / 3);
        Assert.Equal([(long)expected, expected], seen);
        Assert.Equal(expected, await A.GetChangeSequenceAsync(user, None).T30());
        Assert.Equal(Enumerable.Range(1, expected).Select(i => (long)i), (await ReadAllChangesAsync(B, user)).Select(c => c.Sequence));
    }

    [Fact]
    public async Task OneDevice_OnTwoInstances_AtOnce_EachBatchSeqCommitsOnce_InOrder_AndReplaysGetTheOriginalAck()
    {
        var user = NewUser();
        const int Batches = 25;
        // The same batch content for a seq whichever instance carries it (a client re-sending on another connection).
        var content = Enumerable.Range(1, Batches).Select(_ => Enumerable.Range(0, 10).Select(_ => Sample()).ToList()).ToArray();
        var outcomes = new ConcurrentBag<(ulong Seq, string Instance, CommitOutcome Outcome)>();

        async Task SendAllAsync(IHealthStore store, string name)
        {
            // Pipelined like a Sync stream; a gap (the other instance is behind on this seq's predecessor) is re-sent.
            var pending = Enumerable.Range(1, Batches).Select(s => (ulong)s).ToList();
            while (pending.Count > 0)
            {
                var results = await Task.WhenAll(pending.Select(async seq => (seq, await store.CommitAsync(Batch(user, "phone", seq, content[seq - 1]), None))));
                pending.Clear();
                foreach (var (seq, outcome) in results)
                {
                    outcomes.Add((seq, name, outcome));
                    if (outcome is CommitOutcome.SequenceGap)
                    {
                        pending.Add(seq);
                    }
                }
            }
        }

        await Task.WhenAll(Task.Run(() => SendAllAsync(A, "a")), Task.Run(() => SendAllAsync(B, "b"))).WaitAsync(TimeSpan.FromSeconds(90));

        var committed = outcomes.Where(o => o.Outcome is CommitOutcome.Committed).OrderBy(o => o.Seq).ToList();
        Assert.Equal(Enumerable.Range(1, Batches).Select(s => (ulong)s), committed.Select(c => c.Seq)); // each seq committed exactly once
        var results = committed.Select(c => ((CommitOutcome.Committed)c.Outcome).Result).ToList();
        Assert.True(results.Zip(results.Skip(1)).All(p => p.First.ChangeSequence < p.Second.ChangeSequence), "change sequences follow batch_seq order");
        Assert.All(results, r => Assert.Equal(10, r.Accepted));
        var acks = committed.ToDictionary(c => c.Seq, c => ((CommitOutcome.Committed)c.Outcome).AckBytes);
        foreach (var duplicate in outcomes.Where(o => o.Outcome is CommitOutcome.Duplicate))
        {
            Assert.Equal(acks[duplicate.Seq], ((CommitOutcome.Duplicate)duplicate.Outcome).OriginalAckBytes);
        }

        Assert.Equal(Batches, outcomes.Count(o => o.Outcome is CommitOutcome.Duplicate)); // the other instance's copy of every seq
        Assert.Equal(Batches * 10L, await PostgresTestDatabase.CountSamplesAsync(ConnectionString, user).T30());
        Assert.Equal(new DeviceState(Batches, 1, false), await A.GetDeviceStateAsync(user, "phone", 1, None).T30());
    }

    [Fact]
    public async Task ANewEpochOnOneInstance_FencesTheOldEpochOnTheOther_NothingOldLandsAfterIt()
    {
        var user = NewUser();
        (await A.CommitAsync(Batch(user, "phone", 1, [Sample()], epoch: 1), None).T30()).Committed();

        // Instance B keeps sending epoch 1 (until it is fenced) while instance A registers epoch 2 (a reinstall whose
        // stream landed elsewhere), started once B is well under way.
        var old = new List<CommitOutcome>();
        var underWay = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var oldSender = Task.Run(async () =>
        {
            for (var seq = 2UL; seq <= 5_000; seq++)
            {
                old.Add(await B.CommitAsync(Batch(user, "phone", seq, [Sample()], epoch: 1), None));
                if (seq == 4)
                {
                    underWay.TrySetResult();
                }

                if (old[^1] is CommitOutcome.EpochFenced)
                {
                    // A few more: a fenced epoch stays fenced.
                    for (var more = seq + 1; more <= seq + 3; more++)
                    {
                        old.Add(await B.CommitAsync(Batch(user, "phone", more, [Sample()], epoch: 1), None));
                    }

                    return;
                }
            }
        });
        await underWay.Task.T30();
        var reinstall = (await A.CommitAsync(Batch(user, "phone", 1, [Sample()], epoch: 2), None).T30()).Committed();
        await oldSender.WaitAsync(TimeSpan.FromSeconds(60));

        var fencedFrom = old.FindIndex(o => o is CommitOutcome.EpochFenced);
        Assert.True(fencedFrom >= 0, "the old epoch was fenced");
        Assert.All(old.Skip(fencedFrom), o => Assert.Equal(typeof(CommitOutcome.EpochFenced), o.GetType()));
        Assert.All(old.Take(fencedFrom), o => Assert.True(o.Committed().ChangeSequence < reinstall.ChangeSequence, "an old-epoch batch committed after the new epoch"));
        Assert.Equal(new CommitOutcome.EpochFenced(2, (ulong)fencedFrom + 1), old[^1]);
        var checkpoint = await B.GetCheckpointAsync(user, "phone", None).T30();
        Assert.Equal((2UL, 1UL), (checkpoint!.Epoch, checkpoint.HighWaterMark));
        Assert.Equal(fencedFrom + 2L, await PostgresTestDatabase.CountSamplesAsync(ConnectionString, user).T30());
    }

    [Fact]
    public async Task ACommitThroughInstanceA_WakesTheListenersOfInstanceB()
    {
        var user = NewUser();
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listening = B.ChangeNotifications.Listen(users =>
        {
            if (users.Contains(user))
            {
                heard.TrySetResult();
            }
        });

        var committed = (await A.CommitAsync(Batch(user, "d", 1, [Sample()]), None).T30()).Committed();

        await heard.Task.T30();
        // Woken, B reads the change at once (the NOTIFY is delivered only after the commit is visible).
        Assert.Equal(committed.ChangeSequence, Assert.Single((await B.ReadChangesAsync(user, 0, 10, None).T30()).Changes).Sequence);
    }
}
