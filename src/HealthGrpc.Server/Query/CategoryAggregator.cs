using HealthGrpc.Storage;

namespace HealthGrpc.Server.Query;

/// <summary>The time one category value covers in a bucket, and how many of its samples have a part there.</summary>
internal readonly record struct CategoryTotal(int Value, long DurationMs, long Count);

/// <summary>Durations of one bucket after source selection, ordered by value; <see cref="Count"/> counts the samples with a part in the bucket.</summary>
internal sealed record CategoryAggregateResult(BucketRange Range, long Count, int ChosenSourceKind, IReadOnlyList<CategoryTotal> Totals);

/// <summary>
/// Folds category samples (sleep stages, ...) into local buckets as durations, deduplicating sources like the quantity
/// aggregates: a sample's [start, end) is split at the 15-minute UTC slots (every zone offset is a multiple of 15
/// minutes, so local buckets are unions of slots), and per slot only the samples of the winning source
/// (<see cref="SourcePriority"/>) among those with a part in it count. A sample without duration counts (for 0 ms) in
/// the slot of its start.
/// </summary>
internal static class CategoryAggregator
{
    private const long SlotMs = 15 * 60 * 1000;

    /// <param name="samples">Category samples (others are ignored), in any order.</param>
    /// <param name="buckets">Consecutive, ordered; parts outside them are ignored.</param>
    /// <param name="priority">Picks the winning source of each slot.</param>
    /// <param name="isSlotShared">Whether the slot starting at the given instant may be read (a grant); null: every slot.</param>
    public static List<CategoryAggregateResult> Aggregate(
        IReadOnlyList<SampleRecord> samples, IReadOnlyList<BucketRange> buckets, SourcePriority priority, Func<long, bool>? isSlotShared)
    {
        var from = buckets[0].StartUnixMs;
        var to = buckets[^1].EndUnixMs;
        var winners = new Dictionary<long, SourceRecord>();
        foreach (var sample in samples)
        {
            foreach (var slot in Slots(sample, from, to, isSlotShared))
            {
                if (!winners.TryGetValue(slot, out var winner) || priority.Compare(sample.Source, winner) < 0)
                {
                    winners[slot] = sample.Source;
                }
            }
        }

        var totals = buckets.Select(_ => new BucketTotals()).ToArray();
        var bucketStarts = buckets.Select(b => b.StartUnixMs).ToArray();
        foreach (var sample in samples)
        {
            foreach (var slot in Slots(sample, from, to, isSlotShared))
            {
                if (!winners[slot].Equals(sample.Source))
                {
                    continue;
                }

                var index = Array.BinarySearch(bucketStarts, slot);
                var bucket = totals[index >= 0 ? index : ~index - 1];
                var part = Math.Max(0, Math.Min(sample.EndUnixMs, slot + SlotMs) - Math.Max(sample.StartUnixMs, slot));
                bucket.Add(sample, part, priority.Rank(sample.Source.Kind));
            }
        }

        return buckets.Select((range, i) => totals[i].Result(range)).ToList();
    }

    /// <summary>The starts of the slots in [<paramref name="from"/>, <paramref name="to"/>) a category sample has a part in.</summary>
    private static IEnumerable<long> Slots(SampleRecord sample, long from, long to, Func<long, bool>? isSlotShared)
    {
        if (sample.Category is null)
        {
            yield break;
        }

        var first = Math.Max(sample.StartUnixMs, from);
        var end = Math.Min(Math.Max(sample.EndUnixMs, sample.StartUnixMs + 1), to);
        for (var slot = first - (((first % SlotMs) + SlotMs) % SlotMs); slot < end; slot += SlotMs)
        {
            if (isSlotShared is null || isSlotShared(slot))
            {
                yield return slot;
            }
        }
    }

    private sealed class BucketTotals
    {
        private readonly SortedDictionary<int, (long DurationMs, HashSet<Guid> Samples)> _values = [];
        private readonly HashSet<Guid> _samples = [];
        private int _bestRank = int.MaxValue;
        private int _chosenKind;

        public void Add(SampleRecord sample, long partMs, int rank)
        {
            var value = sample.Category!.Value;
            if (!_values.TryGetValue(value, out var total))
            {
                total = (0, []);
            }

            total.Samples.Add(sample.Uuid);
            _values[value] = (total.DurationMs + partMs, total.Samples);
            _samples.Add(sample.Uuid);
            if (rank < _bestRank)
            {
                (_bestRank, _chosenKind) = (rank, sample.Source.Kind);
            }
        }

        public CategoryAggregateResult Result(BucketRange range) => new(
            range, _samples.Count, _chosenKind, _values.Select(v => new CategoryTotal(v.Key, v.Value.DurationMs, v.Value.Samples.Count)).ToList());
    }
}
