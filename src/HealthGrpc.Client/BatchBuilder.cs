using Google.Protobuf;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>Splits content into batches of bounded size; anchors and deletions travel with the last chunk.</summary>
internal static class BatchBuilder
{
    public static List<(Batch Batch, SyncTier Tier, int Items)> Split(
        IReadOnlyList<SampleSet> sets, IReadOnlyList<Deletion>? deletions, IReadOnlyList<SourceAnchor>? anchors,
        SyncTier tier, bool atomic, int maxSamples)
    {
        var content = new HealthContent();
        foreach (var set in sets)
        {
            content.SampleSets.Add(set);
        }

        foreach (var deletion in deletions ?? [])
        {
            content.Deletions.Add(deletion);
        }

        return Split(content, anchors, tier, atomic, maxSamples);
    }

    /// <summary>
    /// Splits <paramref name="content"/> into batches of at most <paramref name="maxSamples"/> items (a series, waveform
    /// chunk or record counts as one); the deletions and the anchors travel with the last batch.
    /// </summary>
    public static List<(Batch Batch, SyncTier Tier, int Items)> Split(
        HealthContent content, IReadOnlyList<SourceAnchor>? anchors, SyncTier tier, bool atomic, int maxSamples)
    {
        var result = new List<(Batch, SyncTier, int)>();
        var current = NewBatch(tier, atomic);
        var items = 0;

        void Room()
        {
            if (items >= maxSamples)
            {
                result.Add((current, tier, items));
                current = NewBatch(tier, atomic);
                items = 0;
            }
        }

        foreach (var set in content.SampleSets)
        {
            ArgumentNullException.ThrowIfNull(set);
            var offset = 0;
            while (offset < set.Samples.Count || (set.Samples.Count == 0 && offset == 0))
            {
                if (set.Samples.Count == 0)
                {
                    break;
                }

                Room();
                var take = Math.Min(maxSamples - items, set.Samples.Count - offset);
                if (offset == 0 && take == set.Samples.Count)
                {
                    current.SampleSets.Add(set);
                }
                else
                {
                    var part = BatchSplitter.Header(set);
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

        void AddEach<T>(IEnumerable<T> list, Func<Batch, ICollection<T>> field)
        {
            foreach (var item in list)
            {
                ArgumentNullException.ThrowIfNull(item);
                Room();
                field(current).Add(item);
                items++;
            }
        }

        AddEach(content.Series, b => b.Series);
        AddEach(content.Waveforms, b => b.Waveforms);
        AddEach(content.Records, b => b.Records);
        foreach (var deletion in content.Deletions)
        {
            ArgumentNullException.ThrowIfNull(deletion);
            current.Deletions.Add(deletion);
            items++;
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

/// <summary>The outcome of fitting one queued batch to a server's limits.</summary>
/// <param name="Chunks">Batches that each fit, in order; the anchors travel with the last one. Empty when nothing is sendable.</param>
/// <param name="Oversized">Items too large to travel even alone, each in a batch of its own, with the reason.</param>
internal sealed record SplitResult(IReadOnlyList<Batch> Chunks, IReadOnlyList<(Batch Item, string Reason)> Oversized);

/// <summary>
/// Splits a queued batch so that every part honours the Welcome's limits: at most <c>max_samples_per_batch</c> discrete
/// samples and an encoded <c>SyncRequest</c> of at most <c>max_message_bytes</c>. Sizes are estimated conservatively (every
/// nested length prefix counted at its largest) and each chunk is checked exactly, so a chunk is never refused for size.
/// </summary>
internal static class BatchSplitter
{
    /// <summary>Upper bound of the bytes around a stored payload: the SyncRequest.batch tag and length, and batch_seq.</summary>
    public const int Envelope = 1 + 5 + 1 + 10;

    private const int MaxLengthPrefix = 5;

    /// <summary>Discrete samples over all sample sets (what the server's max_samples_per_batch counts).</summary>
    public static int CountSamples(Batch batch)
    {
        var n = 0;
        foreach (var set in batch.SampleSets)
        {
            n += set.Samples.Count;
        }

        return n;
    }

    /// <summary>Items as the queue counts them: samples, series, waveform chunks, deletions and records.</summary>
    public static int CountItems(Batch batch) =>
        CountSamples(batch) + batch.Series.Count + batch.Waveforms.Count + batch.Deletions.Count + batch.Records.Count;

    /// <summary>The exact encoded size of the <c>SyncRequest</c> carrying <paramref name="batch"/> with the largest batch_seq.</summary>
    public static int RequestSize(Batch batch)
    {
        var copy = batch.Clone();
        copy.BatchSeq = ulong.MaxValue;
        return new SyncRequest { Batch = copy }.CalculateSize();
    }

    /// <summary>True when a stored payload of <paramref name="payloadBytes"/> bytes and <paramref name="items"/> items surely fits.</summary>
    public static bool SurelyFits(int payloadBytes, int items, int maxSamples, int maxBytes) =>
        (long)payloadBytes + Envelope <= maxBytes && items <= maxSamples;

    public static SplitResult Split(Batch batch, int maxSamples, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(batch);
        maxSamples = maxSamples <= 0 ? int.MaxValue : maxSamples;
        maxBytes = maxBytes <= 0 ? int.MaxValue : maxBytes;
        var chunks = new List<Batch>();
        var oversized = new List<(Batch, string)>();
        var budget = (long)maxBytes - Envelope - NewChunk(batch).CalculateSize();
        long anchorBytes = 0;
        foreach (var a in batch.Anchors)
        {
            anchorBytes += Entry(a.CalculateSize());
        }

        if (anchorBytes > budget)
        {
            oversized.Add((batch.Clone(), $"too large to send: its anchors alone encode to {anchorBytes} bytes, over the server's max_message_bytes ({maxBytes})"));
            return new SplitResult([], oversized);
        }

        var cur = NewChunk(batch);
        long curBytes = 0;
        var curSamples = 0;
        var curItems = false;

        void Flush()
        {
            if (curItems)
            {
                chunks.Add(cur);
            }

            cur = NewChunk(batch);
            curBytes = 0;
            curSamples = 0;
            curItems = false;
        }

        foreach (var set in batch.SampleSets)
        {
            var open = 1L + MaxLengthPrefix + Header(set).CalculateSize();
            if (set.Samples.Count == 0)
            {
                if (curBytes + open > budget)
                {
                    Flush();
                }

                cur.SampleSets.Add(set.Clone());
                curBytes += open;
                curItems = true;
                continue;
            }

            SampleSet? part = null;
            foreach (var sample in set.Samples)
            {
                long entry = Entry(sample.CalculateSize());
                if (open + entry > budget)
                {
                    var alone = NewChunk(batch);
                    var single = Header(set);
                    single.Samples.Add(sample);
                    alone.SampleSets.Add(single);
                    oversized.Add((alone, TooLarge($"sample of {set.Type}", RequestSize(alone), maxBytes)));
                    continue;
                }

                if (curSamples + 1 > maxSamples || curBytes + entry + (part is null ? open : 0) > budget)
                {
                    Flush();
                    part = null;
                }

                if (part is null)
                {
                    part = Header(set);
                    cur.SampleSets.Add(part);
                    curBytes += open;
                }

                part.Samples.Add(sample);
                curBytes += entry;
                curSamples++;
                curItems = true;
            }
        }

        void AddItems<T>(IEnumerable<T> items, string kind, Func<Batch, ICollection<T>> field)
            where T : IMessage<T>
        {
            foreach (var item in items)
            {
                long entry = Entry(item.CalculateSize());
                if (entry > budget)
                {
                    var alone = NewChunk(batch);
                    field(alone).Add(item);
                    oversized.Add((alone, TooLarge(kind, RequestSize(alone), maxBytes)));
                    continue;
                }

                if (curBytes + entry > budget)
                {
                    Flush();
                }

                field(cur).Add(item);
                curBytes += entry;
                curItems = true;
            }
        }

        AddItems(batch.Series, "series", b => b.Series);
        AddItems(batch.Waveforms, "waveform chunk", b => b.Waveforms);
        AddItems(batch.Deletions, "deletion", b => b.Deletions);
        AddItems(batch.Records, "record", b => b.Records);

        if (batch.Anchors.Count > 0)
        {
            if (curBytes + anchorBytes > budget)
            {
                Flush();
            }

            cur.Anchors.Add(batch.Anchors);
            chunks.Add(cur);
        }
        else if (curItems)
        {
            chunks.Add(cur);
        }

        foreach (var chunk in chunks)
        {
            var size = RequestSize(chunk);
            if (size > maxBytes || CountSamples(chunk) > maxSamples)
            {
                throw new InvalidOperationException($"BatchSplitter produced a chunk of {size} bytes / {CountSamples(chunk)} samples over the limits {maxBytes} / {maxSamples}.");
            }
        }

        return new SplitResult(chunks, oversized);
    }

    private static string TooLarge(string kind, int size, int maxBytes) =>
        $"too large to send: one {kind} encodes to a {size}-byte request on its own, over the server's max_message_bytes ({maxBytes}); quarantined, not sent";

    private static long Entry(int size) => 1 + CodedOutputStream.ComputeLengthSize(size) + size;

    private static Batch NewChunk(Batch batch) => new() { Atomic = batch.Atomic, Priority = batch.Priority };

    /// <summary>A sample set with <paramref name="set"/>'s header (type, unit, source, base time, zone) and no samples.</summary>
    internal static SampleSet Header(SampleSet set)
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

        return part;
    }
}
