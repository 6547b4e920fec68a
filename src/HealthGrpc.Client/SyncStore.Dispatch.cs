using System.Globalization;
using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

internal sealed record OutgoingBatch(long Id, ulong Seq, SyncTier Tier, byte[] Payload, int SampleCount, bool Atomic);

/// <summary>What one dispatch produced: the batches to send now (in batch_seq order) and the items quarantined as too large.</summary>
internal sealed record DispatchResult(IReadOnlyList<OutgoingBatch> Batches, IReadOnlyList<QuarantinedBatch> Quarantined, IReadOnlyList<SourceAnchor> CommittedAnchors);

/// <summary>A queued batch (or a part of one) failed locally before sending: it cannot fit the server's limits.</summary>
internal sealed record QuarantinedBatch(long Id, SyncTier Tier, int Items, string Reason);

/// <summary>Taking batches off the queue to send: batch_seq assignment (durable), splitting to the server's limits, renumbering.</summary>
internal sealed partial class SyncStore
{
    private const string OutgoingColumns = "id, seq, tier, payload, sample_count, atomic";

    /// <summary>Batches with an assigned batch_seq, in seq order (to be resent after a reconnect).</summary>
    public Task<IReadOnlyList<OutgoingBatch>> GetInFlightAsync(CancellationToken ct) =>
        LockedAsync<IReadOnlyList<OutgoingBatch>>(
            async () =>
            {
                using var cmd = Command(null, $"SELECT {OutgoingColumns} FROM batches WHERE status=1 ORDER BY seq");
                return await ReadOutgoingAsync(cmd, ct).ConfigureAwait(false);
            },
            ct);

    /// <summary>
    /// Dispatches the next pending batch (tier, then enqueue order) under the server's limits, in one transaction: assigns
    /// its batch_seq durably, after splitting it into parts of at most <paramref name="maxSamples"/> samples and
    /// <paramref name="maxBytes"/> bytes of encoded request when it is larger (the parts get consecutive batch_seqs; the
    /// anchors travel with the last part, which keeps the batch's id and so its place in the anchor order). An item too
    /// large to travel even alone is quarantined as a failed batch of its own with the reason (for an atomic batch: the
    /// whole batch). Null when none is pending.
    /// </summary>
    public Task<DispatchResult?> AssignNextAsync(int maxSamples, int maxBytes, CancellationToken ct) =>
        LockedAsync<DispatchResult?>(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                long id, tier, items, bytes;
                byte[] payload;
                using (var pick = Command(tx, "SELECT id, tier, sample_count, bytes, payload FROM batches WHERE status=0 ORDER BY tier, id LIMIT 1"))
                using (var r = await pick.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    if (!await r.ReadAsync(ct).ConfigureAwait(false))
                    {
                        return null;
                    }

                    (id, tier, items, bytes, payload) = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), _cipher.Open((byte[])r.GetValue(4)));
                }

                var meta = await ReadMetaAsync(ct, tx).ConfigureAwait(false);
                var seq = ulong.Parse(meta["last_seq"], CultureInfo.InvariantCulture);
                if (!BatchSplitter.SurelyFits((int)bytes, (int)items, maxSamples, maxBytes))
                {
                    var batch = Batch.Parser.ParseFrom(payload);
                    var split = BatchSplitter.Split(Batch.Parser.ParseFrom(payload), maxSamples, maxBytes);
                    if (split.Chunks.Count != 1 || split.Oversized.Count > 0)
                    {
                        var parts = await DispatchSplitAsync(tx, id, (SyncTier)tier, batch.Atomic, seq, split, ct).ConfigureAwait(false);
                        tx.Commit();
                        return parts;
                    }
                }

                seq++;
                await SetMetaAsync(tx, "last_seq", seq.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                await ExecAsync(tx, "UPDATE batches SET status=1, seq=$seq WHERE id=$id", ct, ("$seq", (long)seq), ("$id", id)).ConfigureAwait(false);
                using var read = Command(tx, $"SELECT {OutgoingColumns} FROM batches WHERE id=$id");
                read.Parameters.AddWithValue("$id", id);
                var result = (await ReadOutgoingAsync(read, ct).ConfigureAwait(false))[0];
                tx.Commit();
                return new DispatchResult([result], [], []);
            },
            ct);

    /// <summary>
    /// Aligns the local numbering with the server's high-water mark <paramref name="hwm"/> of our epoch: in-flight batches
    /// with seq &lt;= hwm were committed (they are resent to get their original ack, flagged duplicate); the others were not,
    /// and are renumbered contiguously from hwm + 1 in their current order. Returns how many were renumbered.
    /// </summary>
    public Task<int> RenumberAsync(ulong hwm, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                List<(long Id, long Seq)> above;
                using (var cmd = Command(tx, "SELECT id, seq FROM batches WHERE status=1 AND seq > $hwm ORDER BY seq"))
                {
                    cmd.Parameters.AddWithValue("$hwm", (long)hwm);
                    above = await ReadAllAsync(cmd, r => (r.GetInt64(0), r.GetInt64(1)), ct).ConfigureAwait(false);
                }

                var next = (long)hwm;
                var renumbered = 0;
                foreach (var (id, seq) in above)
                {
                    next++;
                    if (seq != next)
                    {
                        await ExecAsync(tx, "UPDATE batches SET seq=$seq WHERE id=$id", ct, ("$seq", next), ("$id", id)).ConfigureAwait(false);
                        renumbered++;
                    }
                }

                var meta = await ReadMetaAsync(ct, tx).ConfigureAwait(false);
                var maxAssigned = Math.Max(next, (long)hwm);
                if (ulong.Parse(meta["last_seq"], CultureInfo.InvariantCulture) != (ulong)maxAssigned)
                {
                    await SetMetaAsync(tx, "last_seq", maxAssigned.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                }

                tx.Commit();
                return renumbered;
            },
            ct);

    /// <summary>
    /// Dispatches batch <paramref name="id"/> as the parts of <paramref name="split"/>, after batch_seq <paramref name="seq"/>:
    /// its oversized items quarantined, the whole batch when no part can travel.
    /// </summary>
    private async Task<DispatchResult> DispatchSplitAsync(SqliteTransaction tx, long id, SyncTier tier, bool atomic, ulong seq, SplitResult split, CancellationToken ct)
    {
        if (split.Chunks.Count == 0)
        {
            // Nothing of it can travel: the whole batch is quarantined (its anchors commit once nothing before them waits).
            var reason = split.Oversized[0].Reason + (split.Oversized.Count > 1 ? $" (and {split.Oversized.Count - 1} more such items)" : "");
            var resolution = await QuarantineWholeAsync(tx, id, reason, ct).ConfigureAwait(false);
            return new DispatchResult([], resolution.Quarantined, resolution.CommittedAnchors);
        }

        // An atomic batch keeps its valid items: only the unsendable ones are quarantined, the rest travels.
        var quarantined = new List<QuarantinedBatch>();
        foreach (var (item, reason) in split.Oversized)
        {
            var newId = await InsertQuarantinedAsync(tx, id, item, reason, null, ct).ConfigureAwait(false);
            quarantined.Add(new QuarantinedBatch(newId, tier, BatchSplitter.CountItems(item), reason));
        }

        var dispatched = new List<OutgoingBatch>(split.Chunks.Count);
        for (var i = 0; i < split.Chunks.Count - 1; i++)
        {
            seq++;
            var newId = await InsertDerivedAsync(tx, id, QueuedBatchStatus.InFlight, seq, split.Chunks[i], null, ct).ConfigureAwait(false);
            dispatched.Add(new OutgoingBatch(newId, seq, tier, split.Chunks[i].ToByteArray(), BatchSplitter.CountItems(split.Chunks[i]), atomic));
        }

        var last = split.Chunks[^1];
        var lastBytes = last.ToByteArray();
        seq++;
        await ExecAsync(tx, "UPDATE batches SET status=1, seq=$seq, payload=$p, bytes=$b, sample_count=$c WHERE id=$id", ct,
            ("$seq", (long)seq), ("$p", _cipher.Seal(lastBytes)), ("$b", (long)lastBytes.Length), ("$c", (long)BatchSplitter.CountItems(last)), ("$id", id)).ConfigureAwait(false);
        dispatched.Add(new OutgoingBatch(id, seq, tier, lastBytes, BatchSplitter.CountItems(last), atomic));
        await SetMetaAsync(tx, "last_seq", seq.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
        return new DispatchResult(dispatched, quarantined, []);
    }

    /// <summary>Inserts a part of batch <paramref name="originalId"/> (same tier, atomicity, age and place in the anchor order; no anchors).</summary>
    private async Task<long> InsertDerivedAsync(SqliteTransaction tx, long originalId, QueuedBatchStatus status, ulong? seq, Batch part, string? error, CancellationToken ct)
    {
        var bytes = part.ToByteArray();
        using var cmd = Command(tx, """
            INSERT INTO batches(tier, status, seq, atomic, attempts, next_attempt_ms, created_ms, sample_count, bytes, anchors, payload, last_error, anchor_gen)
            SELECT tier, $status, $seq, atomic, 0, next_attempt_ms, created_ms, $count, $bytes, NULL, $payload, $error, anchor_gen FROM batches WHERE id=$orig
            RETURNING id
            """);
        cmd.Parameters.AddWithValue("$status", (long)status);
        cmd.Parameters.AddWithValue("$seq", seq is { } s ? (long)s : DBNull.Value);
        cmd.Parameters.AddWithValue("$count", (long)BatchSplitter.CountItems(part));
        cmd.Parameters.AddWithValue("$bytes", (long)bytes.Length);
        cmd.Parameters.AddWithValue("$payload", _cipher.Seal(bytes));
        cmd.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$orig", originalId);
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>The rows of <paramref name="cmd"/> (which selects <see cref="OutgoingColumns"/>), payloads opened.</summary>
    private Task<List<OutgoingBatch>> ReadOutgoingAsync(SqliteCommand cmd, CancellationToken ct) =>
        ReadAllAsync(cmd, r => new OutgoingBatch(r.GetInt64(0), (ulong)r.GetInt64(1), (SyncTier)r.GetInt64(2), _cipher.Open((byte[])r.GetValue(3)), r.GetInt32(4), r.GetInt64(5) != 0), ct);
}
