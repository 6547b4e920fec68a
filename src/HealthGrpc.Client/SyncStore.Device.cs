using System.Globalization;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

internal sealed record DeviceRow(string DeviceId, ulong Epoch, bool Restored, ulong LastSeq);

/// <summary>Who the store is: the account it is bound to, the device id, and the epoch decided at the first contact (restore).</summary>
internal sealed partial class SyncStore
{
    /// <summary>
    /// Binds an unbound store to <paramref name="accountId"/> (when given) and returns the account the store belongs to
    /// (null: unbound). A bound store is never rebound.
    /// </summary>
    public Task<string?> BindAccountAsync(string? accountId, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                var meta = await ReadMetaAsync(ct, tx).ConfigureAwait(false);
                if (meta.TryGetValue("account_id", out var bound))
                {
                    return bound;
                }

                if (accountId is not null)
                {
                    await SetMetaAsync(tx, "account_id", accountId, ct).ConfigureAwait(false);
                    tx.Commit();
                }

                return accountId;
            },
            ct);

    /// <summary>The device row, or null when the store is new (never initialized).</summary>
    public Task<DeviceRow?> GetDeviceAsync(CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                var meta = await ReadMetaAsync(ct).ConfigureAwait(false);
                return meta.TryGetValue("device_id", out var id) ? DeviceOf(id, meta) : null;
            },
            ct);

    /// <summary>Initializes a new store: the device id, epoch 0 (decided by the restore step), not restored.</summary>
    public Task<DeviceRow> InitializeDeviceAsync(string deviceId, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                var meta = await ReadMetaAsync(ct, tx).ConfigureAwait(false);
                if (!meta.TryGetValue("device_id", out var existing))
                {
                    await SetMetaAsync(tx, "device_id", deviceId, ct).ConfigureAwait(false);
                    await SetMetaAsync(tx, "epoch", "0", ct).ConfigureAwait(false);
                    await SetMetaAsync(tx, "restored", "0", ct).ConfigureAwait(false);
                    await SetMetaAsync(tx, "last_seq", "0", ct).ConfigureAwait(false);
                    await SetMetaAsync(tx, CreatedKey, NowMs.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                    tx.Commit();
                    return new DeviceRow(deviceId, 0, false, 0);
                }

                tx.Commit();
                return DeviceOf(existing, meta);
            },
            ct);

    /// <summary>
    /// Finishes the restore of a new store: the new epoch and the server's committed anchors, in one transaction. When
    /// there are anchors, the anchored batches collected before (read from the beginning, not yet sent: nothing is sent
    /// before the restore) are deleted with their read positions, so the next collect reads from the restored anchors.
    /// Returns how many items were deleted.
    /// </summary>
    public Task<int> CompleteRestoreAsync(ulong epoch, IReadOnlyCollection<SourceAnchor> anchors, CancellationToken ct) =>
        LockedAsync(
            async () =>
            {
                using var tx = _db.BeginTransaction();
                var dropped = anchors.Count > 0 ? await DropAnchoredPendingAsync(tx, ct).ConfigureAwait(false) : 0;
                await RestoreCommittedAnchorsAsync(tx, anchors, ct).ConfigureAwait(false);
                await SetMetaAsync(tx, "epoch", epoch.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                await SetMetaAsync(tx, "last_seq", "0", ct).ConfigureAwait(false);
                await SetMetaAsync(tx, "restored", "1", ct).ConfigureAwait(false);
                tx.Commit();
                return dropped;
            },
            ct);

    /// <summary>Deletes the anchored pending batches and every read position; returns how many items they held.</summary>
    private async Task<int> DropAnchoredPendingAsync(SqliteTransaction tx, CancellationToken ct)
    {
        int dropped;
        using (var count = Command(tx, "SELECT COALESCE(SUM(sample_count),0) FROM batches WHERE status=0 AND anchor_gen IS NOT NULL"))
        {
            dropped = (int)(long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }

        await ExecAsync(tx, "DELETE FROM batches WHERE status=0 AND anchor_gen IS NOT NULL", ct).ConfigureAwait(false);
        await ExecAsync(tx, "DELETE FROM deferred_anchors", ct).ConfigureAwait(false);
        await ExecAsync(tx, "UPDATE anchors SET enqueued=NULL, enqueued_gen=0", ct).ConfigureAwait(false);
        return dropped;
    }

    private static DeviceRow DeviceOf(string deviceId, Dictionary<string, string> meta) =>
        new(deviceId, ulong.Parse(meta["epoch"], CultureInfo.InvariantCulture), meta["restored"] == "1", ulong.Parse(meta["last_seq"], CultureInfo.InvariantCulture));
}
