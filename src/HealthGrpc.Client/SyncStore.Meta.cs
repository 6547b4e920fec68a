using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>The <c>meta</c> table: the store's scalars (device, epoch, last batch_seq, sync times) as invariant text by key.</summary>
internal sealed partial class SyncStore
{
    public Task<string?> GetMetaAsync(string key, CancellationToken ct) =>
        LockedAsync(async () => (await ReadMetaAsync(ct).ConfigureAwait(false)).GetValueOrDefault(key), ct);

    private Task<Dictionary<string, string>> ReadMetaLockedAsync(CancellationToken ct) => LockedAsync(() => ReadMetaAsync(ct), ct);

    private async Task WriteMetaAsync(string key, string value, CancellationToken ct) =>
        await LockedAsync(() => SetMetaAsync(null, key, value, ct), ct).ConfigureAwait(false);

    private async Task<Dictionary<string, string>> ReadMetaAsync(CancellationToken ct, SqliteTransaction? tx = null)
    {
        using var cmd = Command(tx, "SELECT key, value FROM meta");
        var rows = await ReadAllAsync(cmd, r => (Key: r.GetString(0), Value: r.GetString(1)), ct).ConfigureAwait(false);
        return rows.ToDictionary(row => row.Key, row => row.Value, StringComparer.Ordinal);
    }

    private Task<int> SetMetaAsync(SqliteTransaction? tx, string key, string value, CancellationToken ct) =>
        ExecAsync(tx, "INSERT INTO meta(key, value) VALUES($k, $v) ON CONFLICT(key) DO UPDATE SET value=excluded.value", ct, ("$k", key), ("$v", value));
}
