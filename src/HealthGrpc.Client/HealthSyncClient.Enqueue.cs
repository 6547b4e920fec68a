using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>Push API: content the app hands over (no source anchor), stored durably in the queue.</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>
    /// Push API for live readings and app-provided data (no source anchor): stores the content durably in one transaction,
    /// split into batches of at most <see cref="HealthSyncOptions.MaxSamplesPerBatch"/> items. When this returns, a crash at
    /// any later point loses nothing. Samples without a uuid get a new random one here, so that resends deduplicate.
    /// </summary>
    /// <exception cref="QueueFullException">The queue bounds would be exceeded; nothing was stored.</exception>
    public Task<EnqueueResult> EnqueueAsync(
        IReadOnlyList<SampleSet> sampleSets, IReadOnlyList<Deletion>? deletions = null, SyncTier tier = SyncTier.Batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampleSets);
        AssignMissingUuids(sampleSets);
        return EnqueueCoreAsync(sampleSets, deletions, null, tier, atomic: false, null, cancellationToken);
    }

    /// <summary>Push API for one live reading (a BLE sensor). See <see cref="EnqueueAsync"/>.</summary>
    /// <param name="type">The data type.</param>
    /// <param name="value">The value in <paramref name="unit"/> (empty unit: the type's canonical unit).</param>
    /// <param name="time">When the reading was taken.</param>
    /// <param name="source">The recording device.</param>
    /// <param name="unit">The unit.</param>
    /// <param name="urgent">True: tier 1 (sent first), otherwise the type's tier.</param>
    /// <param name="cancellationToken">Cancels the enqueue (nothing stored when cancelled before the commit).</param>
    public Task<EnqueueResult> EnqueueReadingAsync(
        DataType type, double value, DateTimeOffset time, Source source, string unit = "", bool urgent = false, CancellationToken cancellationToken = default)
    {
        var set = new SampleSet
        {
            Type = type,
            Unit = unit,
            Source = source,
            BaseTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(time),
            ZoneOffsetMinutes = (int)time.Offset.TotalMinutes,
        };
        set.Samples.Add(new Sample { Uuid = Contracts.SampleUuid.ToByteString(Guid.CreateVersion7()), DoubleValue = value });
        return EnqueueCoreAsync([set], null, null, urgent ? SyncTier.Immediate : _options.TierOf(type), false, null, cancellationToken);
    }

    private Task<EnqueueResult> EnqueueCoreAsync(
        IReadOnlyList<SampleSet> sets, IReadOnlyList<Deletion>? deletions, IReadOnlyList<SourceAnchor>? anchors,
        SyncTier tier, bool atomic, Action<IReadOnlyList<long>>? onCommitted, CancellationToken ct) =>
        EnqueueBatchesAsync(BatchBuilder.Split(sets, deletions, anchors, tier, atomic, _options.MaxSamplesPerBatch), tier, onCommitted, ct);

    private Task<EnqueueResult> EnqueueCoreAsync(
        HealthContent content, IReadOnlyList<SourceAnchor>? anchors, SyncTier tier, bool atomic, Action<IReadOnlyList<long>>? onCommitted, CancellationToken ct) =>
        EnqueueBatchesAsync(BatchBuilder.Split(content, anchors, tier, atomic, _options.MaxSamplesPerBatch), tier, onCommitted, ct);

    private async Task<EnqueueResult> EnqueueBatchesAsync(
        List<(Batch Batch, SyncTier Tier, int Items)> batches, SyncTier tier, Action<IReadOnlyList<long>>? onCommitted, CancellationToken ct,
        Func<Microsoft.Data.Sqlite.SqliteTransaction, CancellationToken, Task>? prepare = null)
    {
        if (batches.Count == 0)
        {
            return new EnqueueResult([], 0);
        }

        var ids = await _store.EnqueueAsync(batches, _options.MaxQueuedSamples, _options.MaxQueuedBytes, onCommitted, ct, prepare).ConfigureAwait(false);
        var items = 0;
        for (var i = 0; i < batches.Count; i++)
        {
            items += batches[i].Items;
            Emit(new SyncEvent { Kind = SyncEventKind.Queued, BatchId = ids[i], Tier = tier, SampleCount = batches[i].Items });
        }

        _work.Set();
        return new EnqueueResult(ids, items);
    }

    private static void AssignMissingUuids(IReadOnlyList<SampleSet> sets)
    {
        foreach (var set in sets)
        {
            ArgumentNullException.ThrowIfNull(set);
            foreach (var sample in set.Samples)
            {
                if (sample.Uuid.IsEmpty)
                {
                    sample.Uuid = Contracts.SampleUuid.ToByteString(Guid.CreateVersion7());
                }
            }
        }
    }
}
