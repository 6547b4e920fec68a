using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>One item the server rejected, cut out of its batch: a batch of its own holding only that item, and why.</summary>
/// <param name="Item">A batch (no batch_seq, not atomic, no anchors unless the anchor itself was rejected) holding the item.</param>
/// <param name="Rejection">The server's rejection (kind, index, reason, message).</param>
internal sealed record RejectedItem(Batch Item, Rejection Rejection);

/// <summary>
/// Splits a batch along the server's <see cref="Ack.Rejections"/>: the rejected items (each in a batch of its own, to be
/// quarantined with its reason) and the rest (same atomicity, priority and remaining anchors, to be resent). Indexes are
/// per item kind, zero-based; samples count across sample sets in order (sync.proto, <c>Rejection.index</c>).
/// </summary>
internal static class RejectedItems
{
    public static (Batch Remainder, IReadOnlyList<RejectedItem> Rejected) Partition(Batch batch, IEnumerable<Rejection> rejections)
    {
        var byKind = new Dictionary<(ItemKind, uint), Rejection>();
        foreach (var r in rejections)
        {
            byKind.TryAdd((r.Kind, r.Index), r);
        }

        var rest = new Batch { Atomic = batch.Atomic, Priority = batch.Priority };
        var rejected = new List<RejectedItem>();
        Batch Lone() => new() { Priority = batch.Priority };

        uint index = 0;
        foreach (var set in batch.SampleSets)
        {
            SampleSet? kept = null;
            foreach (var sample in set.Samples)
            {
                if (byKind.TryGetValue((ItemKind.Sample, index++), out var why))
                {
                    var lone = BatchSplitter.Header(set);
                    lone.Samples.Add(sample);
                    var item = Lone();
                    item.SampleSets.Add(lone);
                    rejected.Add(new RejectedItem(item, why));
                }
                else
                {
                    kept ??= BatchSplitter.Header(set);
                    kept.Samples.Add(sample);
                }
            }

            if (kept is not null)
            {
                rest.SampleSets.Add(kept);
            }
        }

        Cut(batch.Series, ItemKind.Series, rest.Series, (b, x) => b.Series.Add(x));
        Cut(batch.Waveforms, ItemKind.Waveform, rest.Waveforms, (b, x) => b.Waveforms.Add(x));
        Cut(batch.Deletions, ItemKind.Deletion, rest.Deletions, (b, x) => b.Deletions.Add(x));
        Cut(batch.Records, ItemKind.Record, rest.Records, (b, x) => b.Records.Add(x));
        Cut(batch.Anchors, ItemKind.Anchor, rest.Anchors, (b, x) => b.Anchors.Add(x));
        return (rest, rejected);

        void Cut<T>(IList<T> items, ItemKind kind, IList<T> keep, Action<Batch, T> add)
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (byKind.TryGetValue((kind, (uint)i), out var why))
                {
                    var lone = Lone();
                    add(lone, items[i]);
                    rejected.Add(new RejectedItem(lone, why));
                }
                else
                {
                    keep.Add(items[i]);
                }
            }
        }
    }
}
