using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>Reading the anchored sources into the queue (tiers 1 and 2) and the tier-3 catch-up re-read.</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>
    /// Reads every configured <see cref="ISampleSource"/> since the anchors (the newest enqueued one, else the committed one)
    /// and enqueues the changes: tier-1 types each in their own batches, all tier-2 types together in atomic batches
    /// (one per <see cref="HealthSyncOptions.MaxSamplesPerBatch"/> items) carrying each type's new anchor. Works offline,
    /// also on a new local store: what it reads before the first contact with the server waits in the queue, and when the
    /// restore at that contact (<c>GetCheckpoint</c>) learns anchors the server already committed for this device (a
    /// reinstall), the sources are read again from those anchors instead, so history the server holds is never re-sent.
    /// Returns the number of items enqueued.
    /// </summary>
    public async Task<int> CollectAsync(CancellationToken cancellationToken = default)
    {
        await _collectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var total = await CollectLockedAsync(cancellationToken).ConfigureAwait(false);
            Kick();
            return total;
        }
        finally
        {
            _collectLock.Release();
        }
    }

    /// <summary>One pass over every source; the caller holds <see cref="_collectLock"/>.</summary>
    private async Task<int> CollectLockedAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var source in _options.Sources)
        {
            var byTier = source.Types.GroupBy(_options.TierOf).OrderBy(g => g.Key);
            foreach (var group in byTier)
            {
                if (group.Key == SyncTier.Immediate)
                {
                    foreach (var type in group)
                    {
                        total += await CollectRoundsAsync(source, [type], SyncTier.Immediate, atomic: false, cancellationToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    total += await CollectRoundsAsync(source, [.. group], group.Key, atomic: group.Key == SyncTier.Batch, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return total;
    }

    /// <summary>
    /// Tier 3: re-reads the last <see cref="HealthSyncOptions.CatchUpWindow"/> (24 h) of every source and enqueues it at
    /// catch-up priority (sent after tier 1 and 2; the server deduplicates by uuid). Returns the number of items enqueued.
    /// </summary>
    public async Task<int> EnqueueCatchUpAsync(CancellationToken cancellationToken = default)
    {
        var to = _options.TimeProvider.GetUtcNow();
        var from = to - _options.CatchUpWindow;
        var total = 0;
        foreach (var source in _options.Sources)
        {
            foreach (var type in source.Types)
            {
                var sets = await source.ReadRangeAsync(type, from, to, cancellationToken).ConfigureAwait(false);
                if (sets.Count > 0)
                {
                    total += (await EnqueueCoreAsync(sets, null, null, SyncTier.CatchUp, false, null, cancellationToken).ConfigureAwait(false)).SampleCount;
                }
            }
        }

        Kick();
        return total;
    }

    private async Task<int> CollectRoundsAsync(ISampleSource source, IReadOnlyList<DataType> types, SyncTier tier, bool atomic, CancellationToken ct)
    {
        var total = 0;
        while (true)
        {
            var budget = _options.MaxSamplesPerBatch;
            var content = new HealthContent();
            var anchors = new List<SourceAnchor>();
            var more = false;
            foreach (var type in types)
            {
                if (budget <= 0)
                {
                    more = true;
                    continue;
                }

                var anchor = await _store.GetReadAnchorAsync(type, "", ct).ConfigureAwait(false);
                var changes = await source.GetChangesAsync(type, anchor, budget, ct).ConfigureAwait(false);
                var count = changes.ItemCount;
                if (count == 0 && changes.NewAnchor.Equals(anchor))
                {
                    continue;
                }

                content.Add(changes);
                anchors.Add(new SourceAnchor { Type = type, Anchor = changes.NewAnchor });
                budget -= Math.Max(count, 1);
                more |= changes.HasMore;
            }

            if (anchors.Count == 0)
            {
                return total;
            }

            var result = await EnqueueCoreAsync(content, anchors, tier, atomic, null, ct).ConfigureAwait(false);
            total += result.SampleCount;
            if (!more)
            {
                return total;
            }
        }
    }
}
