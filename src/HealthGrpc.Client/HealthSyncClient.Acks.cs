using System.Globalization;
using System.Text;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>Resolving sent batches (an ack, an atomic rejection, a quarantine) in the store, and raising their events and waiters.</summary>
public sealed partial class HealthSyncClient
{
    private async Task HandleAckAsync(OutgoingBatch batch, Ack ack)
    {
        // WaitUntilDrainedAsync waits for this too: "drained" means every ack's events were raised.
        Interlocked.Increment(ref _processingAcks);
        try
        {
            await HandleAckCoreAsync(batch, ack).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _processingAcks);
            PulseProgress();
        }
    }

    private async Task HandleAckCoreAsync(OutgoingBatch batch, Ack ack)
    {
        if (batch.Atomic && ack.Rejected > 0)
        {
            // Rejected as a whole (or the replay of that rejection, flagged duplicate): nothing was stored. The rejected
            // items are quarantined and the rest is requeued with the anchors, to be sent once more under a new batch_seq.
            var requeued = await _store.RequeueRestAsync(batch.Id, ack.Rejections, DescribeRejections(ack), CancellationToken.None).ConfigureAwait(false);
            RaiseResolution(batch, ack, requeued);
            if (requeued.RequeuedItems > 0)
            {
                Emit(new SyncEvent { Kind = SyncEventKind.Requeued, BatchId = batch.Id, BatchSeq = batch.Seq, Tier = batch.Tier, SampleCount = requeued.RequeuedItems, Ack = ack, Message = DescribeRejections(ack) });
                PulseProgress(); // the rest is pending again: its waiter (if any) is answered by the rest's ack
            }
            else
            {
                CompleteWaiter(batch.Id, ack);
            }

            return;
        }

        var resolution = await _store.CompleteAsync(batch.Id, ack.Rejections, CancellationToken.None).ConfigureAwait(false);
        Emit(new SyncEvent
        {
            Kind = SyncEventKind.Acked,
            BatchId = batch.Id,
            BatchSeq = batch.Seq,
            Tier = batch.Tier,
            SampleCount = batch.SampleCount,
            Ack = ack,
            Message = ack.Rejected > 0 ? DescribeRejections(ack) : null,
        });
        RaiseResolution(batch, ack, resolution);
        CompleteWaiter(batch.Id, ack);
    }

    /// <summary>Quarantines a whole batch (non-transient failures exhausted, or refused as too large by the server).</summary>
    private async Task QuarantineAsync(OutgoingBatch batch, string reason)
    {
        var resolution = await _store.QuarantineAsync(batch.Id, reason, CancellationToken.None).ConfigureAwait(false);
        RaiseResolution(batch, null, resolution);
        CompleteWaiter(batch.Id, null);
    }

    private void RaiseResolution(OutgoingBatch batch, Ack? ack, Resolution resolution)
    {
        foreach (var q in resolution.Quarantined)
        {
            Emit(new SyncEvent { Kind = SyncEventKind.Quarantined, BatchId = q.Id, BatchSeq = batch.Seq, Tier = q.Tier, SampleCount = q.Items, Ack = ack, Message = q.Reason });
        }

        RaiseCommittedAnchors(batch.Id, batch.Seq, resolution.CommittedAnchors);
        if (resolution.Purged > 0)
        {
            Emit(new SyncEvent { Kind = SyncEventKind.QuarantinePurged, SampleCount = resolution.Purged, Message = $"{resolution.Purged} quarantined batches past the retention policy were deleted" });
        }
    }

    private void RaiseCommittedAnchors(long? batchId, ulong? seq, IReadOnlyList<SourceAnchor> anchors)
    {
        foreach (var anchor in anchors)
        {
            Emit(new SyncEvent { Kind = SyncEventKind.AnchorCommitted, BatchId = batchId, BatchSeq = seq, Anchor = anchor });
        }
    }

    private void CompleteWaiter(long batchId, Ack? ack)
    {
        if (_waiters.TryGetValue(batchId, out var waiter))
        {
            waiter.TrySetResult(ack);
        }

        PulseProgress();
    }

    private static string DescribeRejections(Ack ack)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{ack.Outcome}: {ack.Rejected} rejected");
        foreach (var r in ack.Rejections.Take(5))
        {
            sb.Append(CultureInfo.InvariantCulture, $"; {r.Kind} #{r.Index}: {r.Reason} {r.Message}");
        }

        return sb.ToString();
    }
}
