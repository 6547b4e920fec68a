using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>Versions of the records the app saves: monotonic per (type, id), whatever the clock does.</summary>
internal sealed partial class SyncStore
{
    /// <summary>
    /// The next version of record (<paramref name="recordType"/>, <paramref name="recordId"/>), inside the enqueue's
    /// transaction: the current time in milliseconds, or one more than the last version given when that is not older.
    /// </summary>
    public async Task<ulong> NextRecordVersionAsync(SqliteTransaction tx, string recordType, string recordId, CancellationToken ct)
    {
        using var cmd = Command(tx, """
            INSERT INTO record_versions(record_type, record_id, version) VALUES($type, $id, $now)
            ON CONFLICT(record_type, record_id) DO UPDATE SET version = MAX(record_versions.version + 1, excluded.version)
            RETURNING version
            """);
        cmd.Parameters.AddWithValue("$type", recordType);
        cmd.Parameters.AddWithValue("$id", recordId);
        cmd.Parameters.AddWithValue("$now", Math.Max(1, NowMs));
        return (ulong)(long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}
