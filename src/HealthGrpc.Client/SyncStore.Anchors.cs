using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>
/// The anchors per (type, vendor type): the "enqueued" read position (newest enqueued batch) and the "committed" one,
/// which moves only when the data it covers is delivered or quarantined (deferred until then, in enqueue order).
/// </summary>
internal sealed partial class SyncStore
{
    /// <summary>Committed anchors per type.</summary>
    public Task<IReadOnlyList<CommittedAnchor>> GetCommittedAnchorsAsync(CancellationToken ct) =>
        LockedAsync<IReadOnlyList<CommittedAnchor>>(
            async () =>
            {
                using var cmd = Command(null, "SELECT type, vendor_type, committed, committed_ms FROM anchors WHERE committed IS NOT NULL ORDER BY type, vendor_type");
                return await ReadAllAsync(
                    cmd,
                    r => new CommittedAnchor((DataType)r.GetInt64(0), r.GetString(1), ByteString.CopyFrom((byte[])r.GetValue(2)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))),
                    ct).ConfigureAwait(false);
            },
            ct);

    /// <summary>Where to read a source from: the anchor of the newest enqueued batch for the type, else the committed one, else empty.</summary>
    public Task<ByteString> GetReadAnchorAsync(DataType type, string vendorType, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var cmd = Command(null, "SELECT COALESCE(enqueued, committed) FROM anchors WHERE type=$t AND vendor_type=$v");
                cmd.Parameters.AddWithValue("$t", (long)type);
                cmd.Parameters.AddWithValue("$v", vendorType);
                return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is byte[] bytes ? ByteString.CopyFrom(bytes) : ByteString.Empty;
            },
            ct);

    /// <summary>The anchors of <paramref name="batch"/> alone (what a queued row keeps to commit them later).</summary>
    private static Batch AnchorsOnly(Batch batch)
    {
        var b = new Batch();
        b.Anchors.Add(batch.Anchors);
        return b;
    }

    /// <summary>Moves the read positions to <paramref name="anchors"/>, enqueued in batch <paramref name="gen"/>, unless a later enqueue already did.</summary>
    private async Task RecordEnqueuedAnchorsAsync(SqliteTransaction tx, IEnumerable<SourceAnchor> anchors, long gen, CancellationToken ct)
    {
        foreach (var a in anchors)
        {
            await ExecAsync(tx, """
                INSERT INTO anchors(type, vendor_type, enqueued, enqueued_gen) VALUES($t, $v, $a, $gen)
                ON CONFLICT(type, vendor_type) DO UPDATE SET enqueued=excluded.enqueued, enqueued_gen=excluded.enqueued_gen
                WHERE anchors.enqueued_gen < excluded.enqueued_gen
                """, ct, ("$t", (long)a.Type), ("$v", a.VendorType), ("$a", a.Anchor.ToByteArray()), ("$gen", gen)).ConfigureAwait(false);
        }
    }

    /// <summary>The server's committed anchors at the restore; an anchor this store already committed itself is kept.</summary>
    private async Task RestoreCommittedAnchorsAsync(SqliteTransaction tx, IEnumerable<SourceAnchor> anchors, CancellationToken ct)
    {
        var now = NowMs;
        foreach (var a in anchors)
        {
            await ExecAsync(tx, """
                INSERT INTO anchors(type, vendor_type, committed, committed_gen, committed_ms) VALUES($t, $v, $a, 0, $now)
                ON CONFLICT(type, vendor_type) DO UPDATE SET committed=excluded.committed, committed_ms=excluded.committed_ms
                WHERE anchors.committed_gen = 0
                """, ct, ("$t", (long)a.Type), ("$v", a.VendorType), ("$a", a.Anchor.ToByteArray()), ("$now", now)).ConfigureAwait(false);
        }
    }

    private async Task DeferAnchorsAsync(SqliteTransaction tx, long gen, byte[]? anchors, CancellationToken ct)
    {
        if (anchors is not null)
        {
            await ExecAsync(tx, "INSERT INTO deferred_anchors(gen, anchors) VALUES($g, $a) ON CONFLICT(gen) DO UPDATE SET anchors=excluded.anchors", ct,
                ("$g", gen), ("$a", anchors)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Commits deferred anchors in enqueue order while no pending or in-flight batch (or part of one) from an earlier or the
    /// same anchored batch remains: an anchor never covers data that is neither delivered nor quarantined.
    /// </summary>
    private async Task<IReadOnlyList<SourceAnchor>> PromoteDeferredAnchorsAsync(SqliteTransaction tx, CancellationToken ct)
    {
        List<(long Gen, byte[] Anchors)> deferred;
        using (var cmd = Command(tx, "SELECT gen, anchors FROM deferred_anchors ORDER BY gen"))
        {
            deferred = await ReadAllAsync(cmd, r => (r.GetInt64(0), (byte[])r.GetValue(1)), ct).ConfigureAwait(false);
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
                var changed = await ExecAsync(tx, """
                    INSERT INTO anchors(type, vendor_type, committed, committed_gen, committed_ms) VALUES($t, $v, $a, $gen, $now)
                    ON CONFLICT(type, vendor_type) DO UPDATE SET committed=excluded.committed, committed_gen=excluded.committed_gen, committed_ms=excluded.committed_ms
                    WHERE anchors.committed_gen < excluded.committed_gen
                    """, ct, ("$t", (long)a.Type), ("$v", a.VendorType), ("$a", a.Anchor.ToByteArray()), ("$gen", gen), ("$now", now)).ConfigureAwait(false);
                if (changed > 0)
                {
                    committed.Add(a);
                }
            }

            await ExecAsync(tx, "DELETE FROM deferred_anchors WHERE gen=$g", ct, ("$g", gen)).ConfigureAwait(false);
        }

        return committed;
    }
}
