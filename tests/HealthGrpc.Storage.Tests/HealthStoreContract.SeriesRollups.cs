using HealthGrpc.Contracts;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Series points in the rollups: a series counts exactly like the same values sent as discrete samples, also after
/// a series, a sample in a series' bucket or a replaced sample version is removed. The oracle is a twin user who sends
/// every series as its points, one discrete sample each (and deletes a series by deleting each of them).
/// </summary>
public abstract partial class HealthStoreContract
{
    [Fact]
    public async Task Rollups_CountSeriesPointsLikeTheSameSamples_AndADeletedSeriesLeavesItsBucketsCorrected()
    {
        await using var store = await CreateStoreAsync().T30();
        var random = new Random(20261203);
        var (withSeries, twin) = (NewUser(), NewUser());

        // Series on even milliseconds and samples on odd ones: a series point never shares a start with a sample
        // (see SeriesRollups for that one tie), but points of one series may share one (a time delta of 0).
        var regular = SeriesOver(random, Bucket0 + 2_000, points: 1_800, exponent: 0, Watch, regular: true);
        var irregular = SeriesOver(random, Bucket0 + 600_000, points: 400, exponent: -1, Watch, regular: false);
        var fromPhone = SeriesOver(random, Bucket0 + 100_000, points: 300, exponent: 0, Phone, regular: false);
        var samples = Enumerable.Range(0, 40)
            .Select(i => Sample(start: Bucket0 + (random.NextInt64(0, 3 * BucketMs) | 1), value: random.Next(40, 180),
                source: i % 3 == 0 ? Phone : Watch, syncId: i < 4 ? $"v{i}" : null, syncVersion: 1))
            .ToList();
        await CommitBothAsync(store, withSeries, twin, 1, samples, [regular, irregular, fromPhone], deletions: []);
        await AssertRollupsEqualAsync(store, withSeries, twin);

        // The regular series deleted and a new one over its buckets: every bucket it had must again equal the twin's.
        var overDeleted = SeriesOver(random, Bucket0 + 300_002, points: 500, exponent: 0, Watch, regular: false);
        await CommitBothAsync(store, withSeries, twin, 2, [], [overDeleted], deletions: [regular]);
        await AssertRollupsEqualAsync(store, withSeries, twin);

        // A sample deleted from a bucket of the phone's series and a sampled version replaced: the series stay counted.
        var replacing = Sample(start: Bucket0 + (random.NextInt64(0, 3 * BucketMs) | 1), value: 99, syncId: "v0", syncVersion: 2);
        var phoneSample = samples.First(s => s.Source == Phone && s.SyncIdentifier is null && s.StartUnixMs > fromPhone.Series.StartUnixMs
            && s.StartUnixMs < fromPhone.Series.EndUnixMs);
        await CommitBothAsync(store, withSeries, twin, 3, [replacing], [], deletions: [phoneSample.Uuid]);
        await AssertRollupsEqualAsync(store, withSeries, twin);
        Assert.Equal(
            irregular.Points.Length + fromPhone.Points.Length + overDeleted.Points.Length + samples.Count - 1,
            (await store.ReadRollupsAsync(withSeries, HeartRate, long.MinValue, long.MaxValue, None).T30()).Sum(r => r.Count));
    }

    /// <summary>A series with the points of its twin's samples.</summary>
    private sealed record TwinSeries(SeriesRecord Series, SeriesPoint[] Points, int Exponent, Guid[] PointUuids);

    private static TwinSeries SeriesOver(Random random, long startMs, int points, int exponent, SourceRecord source, bool regular)
    {
        var time = startMs;
        var values = new SeriesPoint[points];
        for (var i = 0; i < points; i++)
        {
            values[i] = new SeriesPoint(time, random.Next(400, 1_800));
            time += regular ? 2_000 : 2 * random.Next(0, 4_000);
        }

        return new TwinSeries(Series(values, exponent, source), values, exponent, values.Select(_ => Guid.NewGuid()).ToArray());
    }

    private static async Task CommitBothAsync(
        IHealthStore store, string withSeries, string twin, ulong seq, List<SampleRecord> samples, TwinSeries[] series,
        IReadOnlyList<object> deletions)
    {
        TombstoneRecord Tombstone(Guid uuid) => new(uuid, 1);
        Assert.IsType<CommitOutcome.Committed>(await store.CommitAsync(
            Batch(withSeries, "d", seq, samples, series: series.Select(s => s.Series).ToList(),
                deletions: deletions.Select(d => Tombstone(d is TwinSeries s ? s.Series.Uuid : (Guid)d)).ToList()),
            None).T30());

        var points = series.SelectMany(s => s.Points.Select((p, i) => new SampleRecord(
            s.PointUuids[i], HeartRate, null, p.UnixMilliseconds, p.UnixMilliseconds, 60, PointValue(p, s.Exponent), null, "count/min",
            s.Series.Source, null, 0, null)));
        Assert.IsType<CommitOutcome.Committed>(await store.CommitAsync(
            Batch(twin, "d", seq, [.. samples, .. points],
                deletions: deletions.SelectMany(d => d is TwinSeries s ? s.PointUuids : [(Guid)d]).Select(Tombstone).ToList()),
            None).T30());
    }

    /// <summary>Equal rollups, the sums up to rounding (a recomputed bucket adds the same values in another order).</summary>
    private static async Task AssertRollupsEqualAsync(IHealthStore store, string withSeries, string twin)
    {
        var expected = await store.ReadRollupsAsync(twin, HeartRate, long.MinValue, long.MaxValue, None).T30();
        var actual = await store.ReadRollupsAsync(withSeries, HeartRate, long.MinValue, long.MaxValue, None).T30();
        Assert.True(expected.Count > 5, $"{expected.Count} buckets");
        static string Key(RollupRecord r) => $"{r.BucketStartUnixMs}/{r.Source.Kind}";
        var want = expected.OrderBy(Key, StringComparer.Ordinal).ToList();
        var got = actual.OrderBy(Key, StringComparer.Ordinal).ToList();
        Assert.Equal(want.Select(Key), got.Select(Key));
        for (var i = 0; i < want.Count; i++)
        {
            Assert.True(
                Math.Abs(want[i].Sum - got[i].Sum) <= 1e-9 * Math.Max(1, Math.Abs(want[i].Sum)) && want[i] with { Sum = 0 } == got[i] with { Sum = 0 },
                $"bucket {Key(want[i])}:\n expected {want[i]}\n actual   {got[i]}");
        }
    }
}
