using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// The brute-force oracle of the rollups: the stored samples and series points as the change feed lists them from the
/// start (the feed is compacted, so deleted and replaced items are gone), grouped by (bucket, source) of one type, with
/// first/last by (start, change sequence, point index).
/// </summary>
internal static class ExpectedRollups
{
    private const long BucketMs = 900_000;

    public static List<RollupRecord> From(IEnumerable<ChangeRecord> changes, int type, long fromUnixMs = long.MinValue, long toUnixMs = long.MaxValue)
        => Values(changes, type)
            .Select(v => (v.Sequence, v.Index, v.StartUnixMs, v.Value, v.Source, Bucket: Math.DivRem(v.StartUnixMs, BucketMs) switch
            {
                (var q, < 0) => (q - 1) * BucketMs,
                (var q, _) => q * BucketMs,
            }))
            .Where(s => s.Bucket >= fromUnixMs && s.Bucket < toUnixMs)
            .GroupBy(s => (s.Bucket, s.Source))
            .Select(g =>
            {
                var ordered = g.OrderBy(s => s.StartUnixMs).ThenBy(s => s.Sequence).ThenBy(s => s.Index).ToList();
                var values = ordered.Select(s => s.Value).ToList();
                return new RollupRecord(
                    type, g.Key.Source, g.Key.Bucket, values.Sum(), values.Count, values.Min(), values.Max(),
                    values[0], ordered[0].StartUnixMs, values[^1], ordered[^1].StartUnixMs);
            })
            .ToList();

    /// <summary>Every quantity sample of <paramref name="type"/>, and every point of its series (one value each, in point order).</summary>
    private static IEnumerable<(long Sequence, int Index, long StartUnixMs, double Value, SourceRecord Source)> Values(IEnumerable<ChangeRecord> changes, int type)
    {
        var points = new List<SeriesPoint>();
        foreach (var change in changes)
        {
            if (change is { Kind: ChangeKind.Sample, Sample: { Quantity: { } quantity } sample } && sample.Type == type)
            {
                yield return (change.Sequence, 0, sample.StartUnixMs, quantity, sample.Source);
            }
            else if (change is { Kind: ChangeKind.Series, Series: { } series } && series.Type == type)
            {
                var message = Series.Parser.ParseFrom(series.Payload);
                SeriesColumns.Decode(message, points);
                for (var i = 0; i < points.Count; i++)
                {
                    yield return (change.Sequence, i, points[i].UnixMilliseconds, TestData.PointValue(points[i], message.DecimalExponent), series.Source);
                }
            }
        }
    }

    /// <summary>Asserts <paramref name="actual"/> holds exactly <paramref name="expected"/> (in any source order within a bucket) and is ordered by bucket start.</summary>
    public static void AssertEqual(IReadOnlyList<RollupRecord> expected, IReadOnlyList<RollupRecord> actual)
    {
        Assert.Equal(actual.OrderBy(r => r.BucketStartUnixMs).ToList(), actual);
        static string Key(RollupRecord r) => $"{r.BucketStartUnixMs}/{r.Source.Kind}/{r.Source.Name}";
        var want = expected.OrderBy(Key, StringComparer.Ordinal).ToList();
        var got = actual.OrderBy(Key, StringComparer.Ordinal).ToList();
        for (var i = 0; i < Math.Min(want.Count, got.Count); i++)
        {
            Assert.True(want[i] == got[i], $"rollup {i}:\n expected {want[i]}\n actual   {got[i]}");
        }

        Assert.Equal(want.Count, got.Count);
    }
}
