namespace HealthGrpc.Storage;

/// <summary>
/// The rollup arithmetic of series, shared by both stores: every point of a series counts in its 15-minute bucket
/// exactly like a discrete sample of the same type, source, start and value (so aggregates cover samples and series
/// points alike). A removed series cannot be subtracted from a min/max: its buckets are recomputed, and the series that
/// remain in them are added back with <see cref="AddPoints"/> restricted to those buckets.
/// </summary>
/// <remarks>
/// A recomputed bucket's samples are summed by the store's SQL before the remaining series' points are merged in, so a
/// series point and a discrete sample of the same source with the very same start millisecond may swap which one is
/// first/last there (sum, count, min and max are exact).
/// </remarks>
internal static class SeriesRollups
{
    /// <summary>Adds the points of <paramref name="payload"/> to <paramref name="deltas"/>; with <paramref name="only"/>, just the points in those buckets.</summary>
    public static void AddPoints(
        Dictionary<BucketKey, BucketDelta> deltas, long userRef, int type, long sourceRef, ReadOnlySpan<byte> payload,
        IReadOnlySet<BucketKey>? only = null)
    {
        var points = new List<SeriesValue>();
        SeriesPayload.Read(payload, points);
        BucketDelta? delta = null;
        var current = default(BucketKey);
        foreach (var point in points)
        {
            var key = BucketKey.Of(userRef, type, sourceRef, point.UnixMs);
            if (delta is null || key != current)
            {
                current = key;
                if (only is not null && !only.Contains(key))
                {
                    delta = null;
                    continue;
                }

                if (!deltas.TryGetValue(key, out delta))
                {
                    deltas[key] = delta = new BucketDelta();
                }
            }

            delta.Add(point.UnixMs, point.Value);
        }
    }

    /// <summary>The buckets the points of <paramref name="payload"/> fall in (the buckets its removal must recompute).</summary>
    public static HashSet<BucketKey> Buckets(long userRef, int type, long sourceRef, ReadOnlySpan<byte> payload)
    {
        var points = new List<SeriesValue>();
        SeriesPayload.Read(payload, points);
        var buckets = new HashSet<BucketKey>();
        foreach (var point in points)
        {
            buckets.Add(BucketKey.Of(userRef, type, sourceRef, point.UnixMs));
        }

        return buckets;
    }
}
