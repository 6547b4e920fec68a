using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

internal sealed record QueueCounts(long PendingBatches, long PendingSamples, long QuarantinedBatches, long QuarantinedSamples, long QueuedBytes, DateTimeOffset? OldestPending);

/// <summary>The durable queue: enqueueing within the bounds, failed attempts, and what it holds.</summary>
internal sealed partial class SyncStore
{
    /// <summary>
    /// Stores <paramref name="batches"/> in one transaction (all or nothing) and records the anchors they carry as the
    /// "enqueued" read position. Throws <see cref="QueueFullException"/> when the bounds would be exceeded.
    /// <paramref name="onCommitted"/> runs after the commit, still under the store lock (before any dispatch can see them);
    /// <paramref name="prepare"/> runs first inside the transaction (it may still change the batches, e.g. assign versions).
    /// </summary>
    public Task<IReadOnlyList<long>> EnqueueAsync(
        IReadOnlyList<(Batch Batch, SyncTier Tier, int Items)> batches, long maxSamples, long maxBytes,
        Action<IReadOnlyList<long>>? onCommitted, CancellationToken ct, Func<SqliteTransaction, CancellationToken, Task>? prepare = null) =>
        LockedAsync<IReadOnlyList<long>>(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                if (prepare is not null)
                {
                    await prepare(tx, ct).ConfigureAwait(false);
                }

                var payloads = batches.Select(b => b.Batch.ToByteArray()).ToList();
                await CheckRoomAsync(tx, batches.Sum(b => (long)b.Items), payloads.Sum(p => (long)p.Length), maxSamples, maxBytes, ct).ConfigureAwait(false);
                var anchored = batches.Any(b => b.Batch.Anchors.Count > 0);
                var ids = new List<long>(batches.Count);
                using var insert = Command(tx, """
                    INSERT INTO batches(tier, status, seq, atomic, attempts, next_attempt_ms, created_ms, sample_count, bytes, anchors, payload)
                    VALUES($tier, 0, NULL, $atomic, 0, $now, $now, $count, $bytes, $anchors, $payload) RETURNING id
                    """);
                var pTier = insert.Parameters.Add("$tier", SqliteType.Integer);
                var pAtomic = insert.Parameters.Add("$atomic", SqliteType.Integer);
                insert.Parameters.AddWithValue("$now", NowMs);
                var pCount = insert.Parameters.Add("$count", SqliteType.Integer);
                var pBytes = insert.Parameters.Add("$bytes", SqliteType.Integer);
                var pAnchors = insert.Parameters.Add("$anchors", SqliteType.Blob);
                var pPayload = insert.Parameters.Add("$payload", SqliteType.Blob);
                for (var i = 0; i < batches.Count; i++)
                {
                    var (batch, tier, items) = batches[i];
                    pTier.Value = (long)tier;
                    pAtomic.Value = batch.Atomic ? 1L : 0L;
                    pCount.Value = (long)items;
                    pBytes.Value = (long)payloads[i].Length;
                    pAnchors.Value = batch.Anchors.Count > 0 ? AnchorsOnly(batch).ToByteArray() : DBNull.Value;
                    pPayload.Value = _cipher.Seal(payloads[i]);
                    var id = (long)(await insert.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                    ids.Add(id);
                    if (anchored)
                    {
                        // Its place in the anchor order: an anchor commits only when every batch of its own enqueue (the data
                        // it covers) and of every earlier anchored enqueue is delivered or quarantined.
                        await ExecAsync(tx, "UPDATE batches SET anchor_gen=id WHERE id=$id", ct, ("$id", id)).ConfigureAwait(false);
                    }

                    await RecordEnqueuedAnchorsAsync(tx, batch.Anchors, id, ct).ConfigureAwait(false);
                }

                tx.Commit();
                onCommitted?.Invoke(ids);
                return ids;
            },
            ct);

    /// <summary>Records a failed attempt of the given batches.</summary>
    public Task RecordAttemptFailureAsync(IReadOnlyCollection<long> ids, string error, DateTimeOffset nextAttempt, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                foreach (var id in ids)
                {
                    await ExecAsync(tx, "UPDATE batches SET attempts=attempts+1, last_error=$e WHERE id=$id", ct, ("$e", error), ("$id", id)).ConfigureAwait(false);
                }

                await ExecAsync(tx, "UPDATE batches SET next_attempt_ms=$n WHERE status IN (0,1)", ct, ("$n", nextAttempt.ToUnixTimeMilliseconds())).ConfigureAwait(false);
                tx.Commit();
            },
            ct);

    public Task<IReadOnlyList<QueuedBatchInfo>> ListAsync(QueuedBatchStatus? status, int limit, CancellationToken ct) =>
        LockedAsync<IReadOnlyList<QueuedBatchInfo>>(
            async () =>
            {
                using var cmd = Command(null, status is null
                    ? "SELECT id, tier, status, seq, attempts, created_ms, next_attempt_ms, sample_count, bytes, anchors, last_error FROM batches ORDER BY status, tier, id LIMIT $limit"
                    : "SELECT id, tier, status, seq, attempts, created_ms, next_attempt_ms, sample_count, bytes, anchors, last_error FROM batches WHERE status=$s ORDER BY tier, id LIMIT $limit");
                cmd.Parameters.AddWithValue("$limit", (long)limit);
                if (status is not null)
                {
                    cmd.Parameters.AddWithValue("$s", (long)status.Value);
                }

                return await ReadAllAsync(
                    cmd,
                    r => new QueuedBatchInfo(
                        r.GetInt64(0), (SyncTier)r.GetInt64(1), (QueuedBatchStatus)r.GetInt64(2), r.IsDBNull(3) ? null : (ulong)r.GetInt64(3),
                        r.GetInt32(4), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
                        r.GetInt32(7), r.GetInt32(8), r.IsDBNull(9) ? [] : [.. Batch.Parser.ParseFrom((byte[])r.GetValue(9)).Anchors],
                        r.IsDBNull(10) ? null : r.GetString(10)),
                    ct).ConfigureAwait(false);
            },
            ct);

    /// <summary>The payload of a batch (for inspection of poison batches).</summary>
    public Task<Batch?> GetBatchAsync(long id, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var cmd = Command(null, "SELECT payload FROM batches WHERE id=$id");
                cmd.Parameters.AddWithValue("$id", id);
                return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is byte[] bytes ? Batch.Parser.ParseFrom(_cipher.Open(bytes)) : null;
            },
            ct);

    public Task<QueueCounts> GetCountsAsync(CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var cmd = Command(null, """
                    SELECT
                      COALESCE(SUM(CASE WHEN status IN (0,1) THEN 1 ELSE 0 END),0),
                      COALESCE(SUM(CASE WHEN status IN (0,1) THEN sample_count ELSE 0 END),0),
                      COALESCE(SUM(CASE WHEN status=2 THEN 1 ELSE 0 END),0),
                      COALESCE(SUM(CASE WHEN status=2 THEN sample_count ELSE 0 END),0),
                      COALESCE(SUM(CASE WHEN status IN (0,1) THEN bytes ELSE 0 END),0),
                      MIN(CASE WHEN status IN (0,1) THEN created_ms END)
                    FROM batches
                    """);
                using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await r.ReadAsync(ct).ConfigureAwait(false);
                return new QueueCounts(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4),
                    r.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)));
            },
            ct);

    /// <summary>Throws <see cref="QueueFullException"/> when adding <paramref name="addSamples"/> items of <paramref name="addBytes"/> bytes would exceed the bounds.</summary>
    private async Task CheckRoomAsync(SqliteTransaction tx, long addSamples, long addBytes, long maxSamples, long maxBytes, CancellationToken ct)
    {
        long queuedSamples, queuedBytes;
        using (var cmd = Command(tx, "SELECT COALESCE(SUM(sample_count),0), COALESCE(SUM(bytes),0) FROM batches WHERE status IN (0,1)"))
        using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            await r.ReadAsync(ct).ConfigureAwait(false);
            queuedSamples = r.GetInt64(0);
            queuedBytes = r.GetInt64(1);
        }

        if (queuedSamples + addSamples > maxSamples || queuedBytes + addBytes > maxBytes)
        {
            throw new QueueFullException(
                $"The sync queue is full: {queuedSamples} items / {queuedBytes} bytes queued, limits {maxSamples} items / {maxBytes} bytes; this enqueue adds {addSamples} items / {addBytes} bytes. Nothing was enqueued.")
            {
                QueuedSamples = queuedSamples,
                QueuedBytes = queuedBytes,
                RequestedSamples = addSamples,
                RequestedBytes = addBytes,
            };
        }
    }
}
