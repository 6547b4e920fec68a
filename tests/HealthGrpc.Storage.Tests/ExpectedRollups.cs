namespace HealthGrpc.Storage.Tests;

/// <summary>
/// The brute-force oracle of the rollups: the stored samples as the change feed lists them from the start (the feed is
/// compacted, so deleted and replaced samples are gone), grouped by (bucket, source) of one type, with first/last by
/// (start, change sequence).
/// </summary>
internal static class ExpectedRollups
{
    private const long BucketMs = 900_000;

    public static List<RollupRecord> From(IEnumerable<ChangeRecord> changes, int type, long fromUnixMs = long.MinValue, long toUnixMs = long.MaxValue)
        => changes
            .Where(c => c.Kind == ChangeKind.Sample && c.Sample!.Type == type && c.Sample.Quantity is not null)
            .Select(c => (c.Sequence, Sample: c.Sample!, Bucket: Math.DivRem(c.Sample!.StartUnixMs, BucketMs) switch
            {
                (var q, < 0) => (q - 1) * BucketMs,
                (var q, _) => q * BucketMs,
            }))
            .Where(s => s.Bucket >= fromUnixMs && s.Bucket < toUnixMs)
            .GroupBy(s => (s.Bucket, s.Sample.Source))
            .Select(g =>
            {
                var ordered = g.OrderBy(s => s.Sample.StartUnixMs).ThenBy(s => s.Sequence).ToList();
                var values = ordered.Select(s => s.Sample.Quantity!.Value).ToList();
                return new RollupRecord(
                    type, g.Key.Source, g.Key.Bucket, values.Sum(), values.Count, values.Min(), values.Max(),
                    values[0], ordered[0].Sample.StartUnixMs, values[^1], ordered[^1].Sample.StartUnixMs);
            })
            .ToList();

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
