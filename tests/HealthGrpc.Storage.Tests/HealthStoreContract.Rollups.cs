using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>The 15-minute rollups: kept by the commit transaction, corrected by deletions and replaced versions.</summary>
public abstract partial class HealthStoreContract
{
    // A bucket boundary (1,699,999,200,000 = 1,888,888 x 900,000) near the other tests' times.
    private const long Bucket0 = 1_699_999_200_000;
    private const long BucketMs = 900_000;
    private const int RollupCaseCount = 60;

    // FsCheck replay seed: the same cases every run. Change it to explore; a failure prints the failing case.
    private static readonly Replay RollupSeed = new(new Rnd(0x2545F4914F6CDD1DUL, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None);

    [Fact]
    public async Task Rollups_AreKeptByTheCommit_AndCorrectedByADeletion_AndByAReplacedVersion()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var low = Sample(start: Bucket0 + 1_000, value: 1, syncId: "v", syncVersion: 1);
        var high = Sample(start: Bucket0 + 2_000, value: 5);
        var middle = Sample(start: Bucket0 + 3_000, value: 3);
        var nextBucket = Sample(start: Bucket0 + BucketMs, value: 7, source: Phone);
        await store.CommitAsync(Batch(user, "d", 1, [low, high, middle, nextBucket]), None).T30();

        Assert.Equal(
            [
                new RollupRecord(HeartRate, Watch, Bucket0, 9, 3, 1, 5, 1, Bucket0 + 1_000, 3, Bucket0 + 3_000),
                new RollupRecord(HeartRate, Phone, Bucket0 + BucketMs, 7, 1, 7, 7, 7, Bucket0 + BucketMs, 7, Bucket0 + BucketMs),
            ],
            await store.ReadRollupsAsync(user, HeartRate, Bucket0, Bucket0 + 2 * BucketMs, None).T30());

        // Deleting the max and replacing the min (and first) by a newer version of its sync identifier.
        await store.CommitAsync(
            Batch(user, "d", 2, [Sample(start: Bucket0 + 500, value: 10, syncId: "v", syncVersion: 2)],
                deletions: [new TombstoneRecord(high.Uuid, 1)]),
            None).T30();

        Assert.Equal(
            [new RollupRecord(HeartRate, Watch, Bucket0, 13, 2, 3, 10, 10, Bucket0 + 500, 3, Bucket0 + 3_000)],
            await store.ReadRollupsAsync(user, HeartRate, Bucket0, Bucket0 + BucketMs, None).T30());
        Assert.Empty(await store.ReadRollupsAsync(user, Steps, Bucket0, Bucket0 + 2 * BucketMs, None).T30());
        Assert.Empty(await store.ReadRollupsAsync(NewUser(), HeartRate, Bucket0, Bucket0 + 2 * BucketMs, None).T30());
    }

    /// <summary>One upload of a random case: a sample from a small uuid pool (so re-uploads happen) or a deletion of one.</summary>
    public sealed record RollupOp(bool Delete, int Uuid, int Type, bool FromPhone, int BucketIndex, long Offset, double Value, int SyncId, int SyncVersion);

    /// <summary>A random case: two devices, each with a few batches of operations.</summary>
    public sealed record RollupCase(RollupOp[][] DeviceA, RollupOp[][] DeviceB)
    {
        public override string ToString()
            => string.Join(" | ", new[] { DeviceA, DeviceB }.Select(d => string.Join(" / ", d.Select(b => string.Join(", ", b.Select(o => o.ToString()))))));
    }

    private static Arbitrary<RollupCase> RollupCases()
    {
        var op = from delete in Gen.Frequency((1, Gen.Constant(true)), (5, Gen.Constant(false)))
                 from uuid in Gen.Choose(0, 11)
                 from type in Gen.Elements(HeartRate, Steps)
                 from fromPhone in Gen.Elements(false, true)
                 from bucket in Gen.Choose(0, 2)
                 from offset in Gen.Elements(0L, 1L, 1_000L, 450_000L, 899_999L)
                 from value in Gen.Elements(-3.5, 0, 1, 2.25, 72, 72, 100.5, 1e6)
                 from syncId in Gen.Frequency((3, Gen.Constant(-1)), (2, Gen.Choose(0, 2)))
                 from syncVersion in Gen.Choose(1, 3)
                 select new RollupOp(delete, uuid, type, fromPhone, bucket, offset, value, syncId, syncVersion);
        var device = op.ArrayOf().Select(ops => ops.Take(8).ToArray()).ArrayOf().Select(batches => batches.Take(4).ToArray());
        return (from a in device from b in device select new RollupCase(a, b)).ToArbitrary();
    }

    [Fact]
    public async Task Rollups_EqualABruteForceOverTheStoredSamples_AfterRandomIngest()
    {
        await using var store = await CreateStoreAsync().T30();
        var ran = 0;
        var property = Prop.ForAll(RollupCases(), c =>
        {
            Interlocked.Increment(ref ran);
            RunRollupCaseAsync(store, c).GetAwaiter().GetResult();
        });
        var config = Config.QuickThrowOnFailure.WithMaxTest(RollupCaseCount).WithReplay(FSharpOption<Replay>.Some(RollupSeed)).WithQuietOnSuccess(true);

        // Off the test's synchronization context: the property blocks on the store.
        await Task.Run(() => Check.One(config, property)).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(RollupCaseCount, ran);
    }

    private static async Task RunRollupCaseAsync(IHealthStore store, RollupCase c)
    {
        var user = NewUser();
        var uuids = Enumerable.Range(0, 12).Select(_ => Guid.NewGuid()).ToArray();

        // The two devices commit concurrently, so their batches share group commits in either order.
        async Task RunDeviceAsync(string device, RollupOp[][] batches)
        {
            for (var i = 0; i < batches.Length; i++)
            {
                var samples = batches[i].Where(o => !o.Delete).Select(o => new SampleRecord(
                    uuids[o.Uuid], o.Type, null, Bucket0 + o.BucketIndex * BucketMs + o.Offset, Bucket0 + o.BucketIndex * BucketMs + o.Offset,
                    0, o.Value, null, o.Type == HeartRate ? "count/min" : "count", o.FromPhone ? Phone : Watch,
                    o.SyncId < 0 ? null : $"sync-{o.SyncId}", o.SyncId < 0 ? 0 : (ulong)o.SyncVersion, null)).ToList();
                var deletions = batches[i].Where(o => o.Delete).Select(o => new TombstoneRecord(uuids[o.Uuid], 1)).ToList();
                Assert.IsType<CommitOutcome.Committed>(
                    await store.CommitAsync(Batch(user, device, (ulong)i + 1, samples, deletions: deletions), None).T30());
            }
        }

        await Task.WhenAll(RunDeviceAsync("a", c.DeviceA), RunDeviceAsync("b", c.DeviceB)).T30();

        var changes = await ReadAllChangesAsync(store, user);
        foreach (var type in new[] { HeartRate, Steps })
        {
            ExpectedRollups.AssertEqual(
                ExpectedRollups.From(changes, type),
                await store.ReadRollupsAsync(user, type, long.MinValue, long.MaxValue, None).T30());
            ExpectedRollups.AssertEqual(
                ExpectedRollups.From(changes, type, Bucket0 + BucketMs, Bucket0 + 2 * BucketMs),
                await store.ReadRollupsAsync(user, type, Bucket0 + BucketMs, Bucket0 + 2 * BucketMs, None).T30());
        }
    }
}
