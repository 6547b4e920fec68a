using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>The quarantine (batches with status 2): putting batches and items in it, retention, reading it (oldest first), retrying it.</summary>
internal sealed partial class SyncStore
{
    public Task<IReadOnlyList<QuarantinedItem>> GetQuarantineAsync(long afterId, int limit, CancellationToken ct) =>
        LockedAsync<IReadOnlyList<QuarantinedItem>>(
            async () =>
            {
                using var cmd = Command(null, """
                    SELECT id, tier, sample_count, last_error, reject_reason, created_ms, quarantined_ms, payload
                    FROM batches WHERE status=2 AND id > $after ORDER BY id LIMIT $limit
                    """);
                cmd.Parameters.AddWithValue("$after", afterId);
                cmd.Parameters.AddWithValue("$limit", (long)limit);
                return await ReadAllAsync(
                    cmd,
                    r => new QuarantinedItem(
                        r.GetInt64(0),
                        (SyncTier)r.GetInt64(1),
                        r.GetInt32(2),
                        r.IsDBNull(3) ? "" : r.GetString(3),
                        r.IsDBNull(4) ? null : (RejectReason)r.GetInt64(4),
                        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
                        DateTimeOffset.FromUnixTimeMilliseconds(r.IsDBNull(6) ? r.GetInt64(5) : r.GetInt64(6)),
                        Batch.Parser.ParseFrom(_cipher.Open((byte[])r.GetValue(7)))),
                    ct).ConfigureAwait(false);
            },
            ct);

    /// <summary>
    /// The uuids of the samples the server rejected (quarantined items with their reject reason; whole batches quarantined
    /// after repeated failures are not refusals of their samples). Bounded by the quarantine's own limits.
    /// </summary>
    public Task<IReadOnlySet<ByteString>> GetRefusedSampleUuidsAsync(CancellationToken ct) =>
        LockedAsync<IReadOnlySet<ByteString>>(
            async () =>
            {
                using var cmd = Command(null, "SELECT payload FROM batches WHERE status=2 AND reject_reason IS NOT NULL");
                var perBatch = await ReadAllAsync(
                    cmd,
                    r => Batch.Parser.ParseFrom(_cipher.Open((byte[])r.GetValue(0))).SampleSets.SelectMany(set => set.Samples).Select(s => s.Uuid).ToList(),
                    ct).ConfigureAwait(false);
                return perBatch.SelectMany(uuids => uuids).ToHashSet();
            },
            ct);

    /// <summary>Moves every quarantined batch back to pending (not atomic any more only if it was not). Returns how many.</summary>
    public Task<int> RetryQuarantinedAsync(CancellationToken ct) =>
        LockedAsync(
            () => ExecAsync(null, "UPDATE batches SET status=0, seq=NULL, attempts=0, hard_failures=0, quarantined_ms=NULL, reject_reason=NULL, next_attempt_ms=$n WHERE status=2", ct, ("$n", NowMs)),
            ct);

    private async Task<Resolution> QuarantineWholeAsync(SqliteTransaction tx, long id, string reason, CancellationToken ct)
    {
        if (await ReadPayloadAsync(tx, id, ct).ConfigureAwait(false) is not { } row)
        {
            return Resolution.None;
        }

        // The anchors leave the row: quarantined data is resolved, so they commit once nothing before them waits.
        await DeferAnchorsAsync(tx, id, row.Anchors, ct).ConfigureAwait(false);
        await ExecAsync(tx, "UPDATE batches SET status=2, seq=NULL, anchors=NULL, last_error=$e, quarantined_ms=$now WHERE id=$id", ct,
            ("$e", reason), ("$now", NowMs), ("$id", id)).ConfigureAwait(false);
        var committed = await PromoteDeferredAnchorsAsync(tx, ct).ConfigureAwait(false);
        var purged = await PurgeQuarantineAsync(tx, ct).ConfigureAwait(false);
        return new Resolution(committed, [new QuarantinedBatch(id, row.Tier, row.Items, reason)], purged, 0);
    }

    /// <summary>Inserts <paramref name="item"/> (cut from batch <paramref name="originalId"/>) as a quarantined batch of its own.</summary>
    private async Task<long> InsertQuarantinedAsync(SqliteTransaction tx, long originalId, Batch item, string reason, RejectReason? rejectReason, CancellationToken ct)
    {
        var id = await InsertDerivedAsync(tx, originalId, QueuedBatchStatus.Quarantined, null, item, reason, ct).ConfigureAwait(false);
        await ExecAsync(tx, "UPDATE batches SET atomic=0, quarantined_ms=$now, reject_reason=$r WHERE id=$id", ct,
            ("$now", NowMs), ("$r", rejectReason is { } r ? (long)r : DBNull.Value), ("$id", id)).ConfigureAwait(false);
        return id;
    }

    /// <summary>Applies the retention policy: quarantined batches older than its age, then the oldest beyond its count.</summary>
    private async Task<int> PurgeQuarantineAsync(SqliteTransaction tx, CancellationToken ct)
    {
        var purged = await ExecAsync(tx, "DELETE FROM batches WHERE status=2 AND quarantined_ms < $cutoff", ct,
            ("$cutoff", NowMs - (long)Quarantine.MaxAge.TotalMilliseconds)).ConfigureAwait(false);
        purged += await ExecAsync(tx, """
            DELETE FROM batches WHERE id IN (
              SELECT id FROM batches WHERE status=2 ORDER BY quarantined_ms DESC, id DESC LIMIT -1 OFFSET $keep)
            """, ct, ("$keep", (long)Quarantine.MaxBatches)).ConfigureAwait(false);
        return purged;
    }
}
