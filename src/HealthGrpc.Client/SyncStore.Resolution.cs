using System.Globalization;
using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>What resolving a batch changed: anchors committed, items quarantined (and old ones purged), a rest requeued.</summary>
internal sealed record Resolution(IReadOnlyList<SourceAnchor> CommittedAnchors, IReadOnlyList<QuarantinedBatch> Quarantined, int Purged, int RequeuedItems)
{
    public static readonly Resolution None = new([], [], 0, 0);
}

/// <summary>How long quarantined batches are kept, and how many at most (oldest purged first).</summary>
internal sealed record QuarantinePolicy(TimeSpan MaxAge, int MaxBatches);

/// <summary>
/// Resolving sent batches: an ack (with its rejected items quarantined), an atomic rejection (rejected items quarantined,
/// the rest requeued), a whole-batch quarantine. Anchors are deferred until every earlier anchored batch is resolved.
/// </summary>
internal sealed partial class SyncStore
{
    /// <summary>
    /// An acked batch: its rejected items (of a non-atomic batch, whose valid items the server stored) are quarantined
    /// with their reasons, the batch is removed, and its anchors commit once no earlier anchored batch waits.
    /// </summary>
    public Task<Resolution> CompleteAsync(long id, IReadOnlyList<Rejection> rejections, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                if (await ReadPayloadAsync(tx, id, ct).ConfigureAwait(false) is not { } row)
                {
                    return Resolution.None;
                }

                IReadOnlyList<QuarantinedBatch> quarantined = [];
                if (rejections.Count > 0)
                {
                    var (_, rejected) = RejectedItems.Partition(Batch.Parser.ParseFrom(row.Payload), rejections);
                    quarantined = await QuarantineRejectedAsync(tx, id, row.Tier, rejected, ct).ConfigureAwait(false);
                }

                await DeferAnchorsAsync(tx, id, row.Anchors, ct).ConfigureAwait(false);
                await ExecAsync(tx, "DELETE FROM batches WHERE id=$id", ct, ("$id", id)).ConfigureAwait(false);
                await SetMetaAsync(tx, "last_sync_ms", NowMs.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                var committed = await PromoteDeferredAnchorsAsync(tx, ct).ConfigureAwait(false);
                var purged = quarantined.Count > 0 ? await PurgeQuarantineAsync(tx, ct).ConfigureAwait(false) : 0;
                tx.Commit();
                return new Resolution(committed, quarantined, purged, 0);
            },
            ct);

    /// <summary>
    /// An atomic batch the server rejected as a whole (nothing stored, its batch_seq consumed): the rejected items are
    /// quarantined with their reasons and the rest, with the batch's anchors, goes back to pending under the same id (so
    /// the same place in the queue and in the anchor order) to be dispatched again with a new batch_seq. When the
    /// rejections name no item of the batch, the whole batch is quarantined (a resend would be rejected again).
    /// </summary>
    public Task<Resolution> RequeueRestAsync(long id, IReadOnlyList<Rejection> rejections, string reason, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                if (await ReadPayloadAsync(tx, id, ct).ConfigureAwait(false) is not { } row)
                {
                    return Resolution.None;
                }

                var (rest, rejected) = RejectedItems.Partition(Batch.Parser.ParseFrom(row.Payload), rejections);
                if (rejected.Count == 0)
                {
                    var whole = await QuarantineWholeAsync(tx, id, reason, ct).ConfigureAwait(false);
                    tx.Commit();
                    return whole;
                }

                var quarantined = await QuarantineRejectedAsync(tx, id, row.Tier, rejected, ct).ConfigureAwait(false);
                var items = BatchSplitter.CountItems(rest);
                IReadOnlyList<SourceAnchor> committed = [];
                if (items > 0 || rest.Anchors.Count > 0)
                {
                    var bytes = rest.ToByteArray();
                    await ExecAsync(tx, """
                        UPDATE batches SET status=0, seq=NULL, payload=$p, bytes=$b, sample_count=$c, anchors=$a, next_attempt_ms=$now WHERE id=$id
                        """, ct, ("$p", _cipher.Seal(bytes)), ("$b", (long)bytes.Length), ("$c", (long)items),
                        ("$a", rest.Anchors.Count > 0 ? AnchorsOnly(rest).ToByteArray() : DBNull.Value), ("$now", NowMs), ("$id", id)).ConfigureAwait(false);
                }
                else
                {
                    await ExecAsync(tx, "DELETE FROM batches WHERE id=$id", ct, ("$id", id)).ConfigureAwait(false);
                    committed = await PromoteDeferredAnchorsAsync(tx, ct).ConfigureAwait(false);
                }

                var purged = await PurgeQuarantineAsync(tx, ct).ConfigureAwait(false);
                tx.Commit();
                return new Resolution(committed, quarantined, purged, items);
            },
            ct);

    /// <summary>Quarantines a whole batch with <paramref name="reason"/> (its batch_seq released); its anchors commit in their turn.</summary>
    public Task<Resolution> QuarantineAsync(long id, string reason, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                var resolution = await QuarantineWholeAsync(tx, id, reason, ct).ConfigureAwait(false);
                tx.Commit();
                return resolution;
            },
            ct);

    /// <summary>Counts one more non-transient failure of batch <paramref name="id"/>; returns the count so far.</summary>
    public Task<int> RecordNonTransientFailureAsync(long id, string error, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var cmd = Command(null, "UPDATE batches SET hard_failures=hard_failures+1, last_error=$e WHERE id=$id AND status IN (0,1) RETURNING hard_failures");
                cmd.Parameters.AddWithValue("$e", error);
                cmd.Parameters.AddWithValue("$id", id);
                return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long n ? (int)n : 0;
            },
            ct);

    /// <summary>Quarantines each rejected item of batch <paramref name="id"/> on its own, with the server's reason.</summary>
    private async Task<IReadOnlyList<QuarantinedBatch>> QuarantineRejectedAsync(SqliteTransaction tx, long id, SyncTier tier, IReadOnlyList<RejectedItem> rejected, CancellationToken ct)
    {
        var quarantined = new List<QuarantinedBatch>(rejected.Count);
        foreach (var r in rejected)
        {
            var qid = await InsertQuarantinedAsync(tx, id, r.Item, Describe(r.Rejection), r.Rejection.Reason, ct).ConfigureAwait(false);
            quarantined.Add(new QuarantinedBatch(qid, tier, BatchSplitter.CountItems(r.Item), Describe(r.Rejection)));
        }

        return quarantined;
    }

    private async Task<(SyncTier Tier, int Items, byte[] Payload, byte[]? Anchors)?> ReadPayloadAsync(SqliteTransaction tx, long id, CancellationToken ct)
    {
        using var cmd = Command(tx, "SELECT tier, sample_count, payload, anchors FROM batches WHERE id=$id");
        cmd.Parameters.AddWithValue("$id", id);
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false))
        {
            return null;
        }

        return ((SyncTier)r.GetInt64(0), r.GetInt32(1), _cipher.Open((byte[])r.GetValue(2)), r.IsDBNull(3) ? null : (byte[])r.GetValue(3));
    }

    private static string Describe(Rejection r) =>
        string.Create(CultureInfo.InvariantCulture, $"rejected by the server: {r.Reason} ({r.Kind} #{r.Index}): {r.Message}");
}
