using HealthGrpc.Storage;

namespace HealthGrpc.Server.Query;

/// <summary>Statistics of one bucket after source selection; <see cref="Count"/> 0 means no sample (the rest is then unset).</summary>
internal sealed record AggregateResult(
    BucketRange Range,
    long Count,
    double Sum,
    double Min,
    double Max,
    double Latest,
    int ChosenSourceKind)
{
    public double Average => Sum / Count;
}

/// <summary>
/// Folds 15-minute rollups into local buckets the way HealthKit statistics deduplicate sources: per 15-minute slot
/// only the rollup of the winning source (<see cref="SourcePriority"/>) counts; a bucket's sum and count add up its
/// slots' winners, min/max are theirs, latest is the last value of the winner of the bucket's latest sample.
/// </summary>
internal static class RollupAggregator
{
    /// <param name="rollups">Ordered by bucket start (as <see cref="IHealthStore.ReadRollupsAsync"/> returns them).</param>
    /// <param name="buckets">Consecutive, ordered; slots outside them are ignored.</param>
    /// <param name="priority">Picks the winning source of each slot.</param>
    public static List<AggregateResult> Aggregate(IReadOnlyList<RollupRecord> rollups, IReadOnlyList<BucketRange> buckets, SourcePriority priority)
    {
        var results = new List<AggregateResult>(buckets.Count);
        var next = 0;
        foreach (var bucket in buckets)
        {
            long count = 0;
            double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity, latest = 0;
            long latestStart = long.MinValue;
            var chosenKind = 0;
            var bestRank = int.MaxValue;
            while (next < rollups.Count && rollups[next].BucketStartUnixMs < bucket.StartUnixMs)
            {
                next++;
            }

            while (next < rollups.Count && rollups[next].BucketStartUnixMs < bucket.EndUnixMs)
            {
                var winner = rollups[next];
                var slot = winner.BucketStartUnixMs;
                for (next++; next < rollups.Count && rollups[next].BucketStartUnixMs == slot; next++)
                {
                    if (priority.Compare(rollups[next].Source, winner.Source) < 0)
                    {
                        winner = rollups[next];
                    }
                }

                count += winner.Count;
                sum += winner.Sum;
                min = Math.Min(min, winner.Min);
                max = Math.Max(max, winner.Max);
                if (winner.LastStartUnixMs > latestStart)
                {
                    (latest, latestStart) = (winner.Last, winner.LastStartUnixMs);
                }

                var rank = priority.Rank(winner.Source.Kind);
                if (rank < bestRank)
                {
                    (bestRank, chosenKind) = (rank, winner.Source.Kind);
                }
            }

            results.Add(new AggregateResult(bucket, count, sum, min, max, latest, chosenKind));
        }

        return results;
    }
}
