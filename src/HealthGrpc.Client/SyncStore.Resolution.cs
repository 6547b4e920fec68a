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
    public async Task<Resolution> CompleteAsync(long id, IReadOnlyList<Rejection> rejections, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            if (await ReadPayloadAsync(tx, id, ct).ConfigureAwait(false) is not { } row)
            {
                return Resolution.None;
            }

            var quarantined = new List<QuarantinedBatch>();
            if (rejections.Count > 0)
            {
                var (_, rejected) = RejectedItems.Partition(Batch.Parser.ParseFrom(row.Payload), rejections);
                foreach (var r in rejected)
                {
                    var qid = await InsertQuarantinedAsync(tx, id, r.Item, Describe(r.Rejection), r.Rejection.Reason, ct).ConfigureAwait(false);
                    quarantined.Add(new QuarantinedBatch(qid, row.Tier, BatchSplitter.CountItems(r.Item), Describe(r.Rejection)));
                }
            }

            await DeferAnchorsAsync(tx, id, row.Anchors, ct).ConfigureAwait(false);
            await ExecAsync(_db, tx, "DELETE FROM batches WHERE id=$id", ct, ("$id", id)).ConfigureAwait(false);
            await SetMetaAsync(tx, "last_sync_ms", NowMs.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
            var committed = await PromoteDeferredAnchorsAsync(tx, ct).ConfigureAwait(false);
            var purged = quarantined.Count > 0 ? await PurgeQuarantineAsync(tx, ct).ConfigureAwait(false) : 0;
            tx.Commit();
            return new Resolution(committed, quarantined, purged, 0);
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// An atomic batch the server rejected as a whole (nothing stored, its batch_seq consumed): the rejected items are
    /// quarantined with their reasons and the rest, with the batch's anchors, goes back to pending under the same id (so
    /// the same place in the queue and in the anchor order) to be dispatched again with a new batch_seq. When the
    /// rejections name no item of the batch, the whole batch is quarantined (a resend would be rejected again).
    /// </summary>
    public async Task<Resolution> RequeueRestAsync(long id, IReadOnlyList<Rejection> rejections, string reason, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
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

            var quarantined = new List<QuarantinedBatch>(rejected.Count);
            foreach (var r in rejected)
            {
                var qid = await InsertQuarantinedAsync(tx, id, r.Item, Describe(r.Rejection), r.Rejection.Reason, ct).ConfigureAwait(false);
                quarantined.Add(new QuarantinedBatch(qid, row.Tier, BatchSplitter.CountItems(r.Item), Describe(r.Rejection)));
            }

            var items = BatchSplitter.CountItems(rest);
            IReadOnlyList<SourceAnchor> committed = [];
            if (items > 0 || rest.Anchors.Count > 0)
            {
                var bytes = rest.ToByteArray();
                await ExecAsync(_db, tx, """
                    UPDATE batches SET status=0, seq=NULL, payload=$p, bytes=$b, sample_count=$c, anchors=$a, next_attempt_ms=$now WHERE id=$id
                    """, ct, ("$p", _cipher.Seal(bytes)), ("$b", (long)bytes.Length), ("$c", (long)items),
                    ("$a", rest.Anchors.Count > 0 ? AnchorsOnly(rest).ToByteArray() : DBNull.Value), ("$now", NowMs), ("$id", id)).ConfigureAwait(false);
            }
            else
            {
                await ExecAsync(_db, tx, "DELETE FROM batches WHERE id=$id", ct, ("$id", id)).ConfigureAwait(false);
                committed = await PromoteDeferredAnchorsAsync(tx, ct).ConfigureAwait(false);
            }

            var purged = await PurgeQuarantineAsync(tx, ct).ConfigureAwait(false);
            tx.Commit();
            return new Resolution(committed, quarantined, purged, items);
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Quarantines a whole batch with <paramref name="reason"/> (its batch_seq released); its anchors commit in their turn.</summary>
    public async Task<Resolution> QuarantineAsync(long id, string reason, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            var resolution = await QuarantineWholeAsync(tx, id, reason, ct).ConfigureAwait(false);
            tx.Commit();
            return resolution;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Counts one more non-transient failure of batch <paramref name="id"/>; returns the count so far.</summary>
    public async Task<int> RecordNonTransientFailureAsync(long id, string error, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, "UPDATE batches SET hard_failures=hard_failures+1, last_error=$e WHERE id=$id AND status IN (0,1) RETURNING hard_failures");
            cmd.Parameters.AddWithValue("$e", error);
            cmd.Parameters.AddWithValue("$id", id);
            return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long n ? (int)n : 0;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<Resolution> QuarantineWholeAsync(SqliteTransaction tx, long id, string reason, CancellationToken ct)
    {
        if (await ReadPayloadAsync(tx, id, ct).ConfigureAwait(false) is not { } row)
        {
            return Resolution.None;
        }

        // The anchors leave the row: quarantined data is resolved, so they commit once nothing before them waits.
        await DeferAnchorsAsync(tx, id, row.Anchors, ct).ConfigureAwait(false);
        await ExecAsync(_db, tx, "UPDATE batches SET status=2, seq=NULL, anchors=NULL, last_error=$e, quarantined_ms=$now WHERE id=$id", ct,
            ("$e", reason), ("$now", NowMs), ("$id", id)).ConfigureAwait(false);
        var committed = await PromoteDeferredAnchorsAsync(tx, ct).ConfigureAwait(false);
        var purged = await PurgeQuarantineAsync(tx, ct).ConfigureAwait(false);
        return new Resolution(committed, [new QuarantinedBatch(id, row.Tier, row.Items, reason)], purged, 0);
    }

    /// <summary>Inserts <paramref name="item"/> (cut from batch <paramref name="originalId"/>) as a quarantined batch of its own.</summary>
    private async Task<long> InsertQuarantinedAsync(SqliteTransaction tx, long originalId, Batch item, string reason, RejectReason? rejectReason, CancellationToken ct)
    {
        var id = await InsertDerivedAsync(tx, originalId, QueuedBatchStatus.Quarantined, null, item, reason, ct).ConfigureAwait(false);
        await ExecAsync(_db, tx, "UPDATE batches SET atomic=0, quarantined_ms=$now, reject_reason=$r WHERE id=$id", ct,
            ("$now", NowMs), ("$r", rejectReason is { } r ? (long)r : DBNull.Value), ("$id", id)).ConfigureAwait(false);
        return id;
    }

    private async Task DeferAnchorsAsync(SqliteTransaction tx, long gen, byte[]? anchors, CancellationToken ct)
    {
        if (anchors is not null)
        {
            await ExecAsync(_db, tx, "INSERT INTO deferred_anchors(gen, anchors) VALUES($g, $a) ON CONFLICT(gen) DO UPDATE SET anchors=excluded.anchors", ct,
                ("$g", gen), ("$a", anchors)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Commits deferred anchors in enqueue order while no pending or in-flight batch (or part of one) from an earlier or the
    /// same anchored batch remains: an anchor never covers data that is neither delivered nor quarantined.
    /// </summary>
    private async Task<IReadOnlyList<SourceAnchor>> PromoteDeferredAnchorsAsync(SqliteTransaction tx, CancellationToken ct)
    {
        var deferred = new List<(long Gen, byte[] Anchors)>();
        using (var cmd = Command(tx, "SELECT gen, anchors FROM deferred_anchors ORDER BY gen"))
        using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                deferred.Add((r.GetInt64(0), (byte[])r.GetValue(1)));
            }
        }

        var committed = new List<SourceAnchor>();
        using var blocked = Command(tx, "SELECT EXISTS(SELECT 1 FROM batches WHERE anchor_gen <= $g AND status IN (0,1))");
        var pGen = blocked.Parameters.Add("$g", SqliteType.Integer);
        var now = NowMs;
        foreach (var (gen, anchors) in deferred)
        {
            pGen.Value = gen;
            if ((long)(await blocked.ExecuteScalarAsync(ct).ConfigureAwait(false))! != 0)
            {
                break; // later generations wait behind the same batch
            }

            foreach (var a in Batch.Parser.ParseFrom(anchors).Anchors)
            {
                var changed = await ExecAsync(_db, tx, """
                    INSERT INTO anchors(type, vendor_type, committed, committed_gen, committed_ms) VALUES($t, $v, $a, $gen, $now)
                    ON CONFLICT(type, vendor_type) DO UPDATE SET committed=excluded.committed, committed_gen=excluded.committed_gen, committed_ms=excluded.committed_ms
                    WHERE anchors.committed_gen < excluded.committed_gen
                    """, ct, ("$t", (long)a.Type), ("$v", a.VendorType), ("$a", a.Anchor.ToByteArray()), ("$gen", gen), ("$now", now)).ConfigureAwait(false);
                if (changed > 0)
                {
                    committed.Add(a);
                }
            }

            await ExecAsync(_db, tx, "DELETE FROM deferred_anchors WHERE gen=$g", ct, ("$g", gen)).ConfigureAwait(false);
        }

        return committed;
    }

    /// <summary>Applies the retention policy: quarantined batches older than its age, then the oldest beyond its count.</summary>
    private async Task<int> PurgeQuarantineAsync(SqliteTransaction tx, CancellationToken ct)
    {
        var purged = await ExecAsync(_db, tx, "DELETE FROM batches WHERE status=2 AND quarantined_ms < $cutoff", ct,
            ("$cutoff", NowMs - (long)Quarantine.MaxAge.TotalMilliseconds)).ConfigureAwait(false);
        purged += await ExecAsync(_db, tx, """
            DELETE FROM batches WHERE id IN (
              SELECT id FROM batches WHERE status=2 ORDER BY quarantined_ms DESC, id DESC LIMIT -1 OFFSET $keep)
            """, ct, ("$keep", (long)Quarantine.MaxBatches)).ConfigureAwait(false);
        return purged;
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
