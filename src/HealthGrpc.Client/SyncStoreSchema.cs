using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>
/// Versioned additions to the client schema (<c>PRAGMA user_version</c>), applied in order on open; each step runs in
/// one transaction, so a crash mid-migration leaves the previous version intact.
/// </summary>
internal static class SyncStoreSchema
{
    /// <summary>The version this SDK writes.</summary>
    public const int Current = 2;

    /// <summary>The steps, by the version they produce.</summary>
    private static readonly (int Version, string Sql)[] Steps =
    [
        // Version 1: quarantine (reject reason, time), bounded non-transient retries, and anchors that commit only when
        // every earlier anchored batch is delivered or quarantined (anchor_gen orders them; deferred_anchors waits).
        (1, """
            ALTER TABLE batches ADD COLUMN reject_reason INTEGER NULL;
            ALTER TABLE batches ADD COLUMN quarantined_ms INTEGER NULL;
            ALTER TABLE batches ADD COLUMN anchor_gen INTEGER NULL;
            ALTER TABLE batches ADD COLUMN hard_failures INTEGER NOT NULL DEFAULT 0;
            UPDATE batches SET anchor_gen = id WHERE anchors IS NOT NULL;
            UPDATE batches SET quarantined_ms = created_ms WHERE status = 2;
            CREATE INDEX ix_batches_anchor_gen ON batches(anchor_gen) WHERE anchor_gen IS NOT NULL;
            CREATE INDEX ix_batches_quarantined ON batches(quarantined_ms) WHERE status = 2;
            CREATE TABLE deferred_anchors(gen INTEGER PRIMARY KEY, anchors BLOB NOT NULL);
            """),

        // Version 2: the last version given to each record (type, id) by SaveRecordAsync, so that versions never go
        // backwards for a record even when the clock does (the server keeps the highest version: last write wins).
        (2, """
            CREATE TABLE record_versions(record_type TEXT NOT NULL, record_id TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY(record_type, record_id));
            """),
    ];

    public static async Task MigrateAsync(SqliteConnection db, CancellationToken ct)
    {
        long version;
        using (var read = db.CreateCommand())
        {
            read.CommandText = "PRAGMA user_version";
            version = (long)(await read.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }

        foreach (var (target, sql) in Steps)
        {
            if (version >= target)
            {
                continue;
            }

            using var tx = db.BeginTransaction();
            using var cmd = db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = sql + $"PRAGMA user_version = {target.ToString(System.Globalization.CultureInfo.InvariantCulture)};";
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            tx.Commit();
        }
    }
}
