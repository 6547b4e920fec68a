using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>Splits content into batches of bounded size; anchors and deletions travel with the last chunk.</summary>
internal static class BatchBuilder
{
    public static List<(Batch Batch, SyncTier Tier, int Items)> Split(
        IReadOnlyList<SampleSet> sets, IReadOnlyList<Deletion>? deletions, IReadOnlyList<SourceAnchor>? anchors,
        SyncTier tier, bool atomic, int maxSamples)
    {
        var result = new List<(Batch, SyncTier, int)>();
        var current = NewBatch(tier, atomic);
        var items = 0;
        foreach (var set in sets)
        {
            ArgumentNullException.ThrowIfNull(set);
            var offset = 0;
            while (offset < set.Samples.Count || (set.Samples.Count == 0 && offset == 0))
            {
                if (set.Samples.Count == 0)
                {
                    break;
                }

                if (items >= maxSamples)
                {
                    result.Add((current, tier, items));
                    current = NewBatch(tier, atomic);
                    items = 0;
                }

                var take = Math.Min(maxSamples - items, set.Samples.Count - offset);
                if (offset == 0 && take == set.Samples.Count)
                {
                    current.SampleSets.Add(set);
                }
                else
                {
                    var part = new SampleSet
                    {
                        Type = set.Type,
                        VendorType = set.VendorType,
                        Unit = set.Unit,
                        DecimalExponent = set.DecimalExponent,
                        Source = set.Source,
                        BaseTime = set.BaseTime,
                    };
                    if (set.HasZoneOffsetMinutes)
                    {
                        part.ZoneOffsetMinutes = set.ZoneOffsetMinutes;
                    }

                    for (var i = 0; i < take; i++)
                    {
                        part.Samples.Add(set.Samples[offset + i]);
                    }

                    current.SampleSets.Add(part);
                }

                offset += take;
                items += take;
            }
        }

        if (deletions is not null)
        {
            current.Deletions.Add(deletions);
            items += deletions.Count;
        }

        if (anchors is not null)
        {
            current.Anchors.Add(anchors);
        }

        if (items > 0 || current.Anchors.Count > 0)
        {
            result.Add((current, tier, items));
        }

        return result;
    }

    private static Batch NewBatch(SyncTier tier, bool atomic) => new() { Atomic = atomic, Priority = SyncTiers.ToPriority(tier) };
}
