using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>
/// Versioned additions to the client schema (<c>PRAGMA user_version</c>), applied in order on open; each step runs in
/// one transaction, so a crash mid-migration leaves the previous version intact.
/// </summary>
internal static class SyncStoreSchema
{
    /// <summary>The version this SDK writes.</summary>
    public const int Current = 1;

    public static async Task MigrateAsync(SqliteConnection db, CancellationToken ct)
    {
        using (var read = db.CreateCommand())
        {
            read.CommandText = "PRAGMA user_version";
            if ((long)(await read.ExecuteScalarAsync(ct).ConfigureAwait(false))! >= Current)
            {
                return;
            }
        }

        // Version 1: quarantine (reject reason, time), bounded non-transient retries, and anchors that commit only when
        // every earlier anchored batch is delivered or quarantined (anchor_gen orders them; deferred_anchors waits).
        using var tx = db.BeginTransaction();
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            ALTER TABLE batches ADD COLUMN reject_reason INTEGER NULL;
            ALTER TABLE batches ADD COLUMN quarantined_ms INTEGER NULL;
            ALTER TABLE batches ADD COLUMN anchor_gen INTEGER NULL;
            ALTER TABLE batches ADD COLUMN hard_failures INTEGER NOT NULL DEFAULT 0;
            UPDATE batches SET anchor_gen = id WHERE anchors IS NOT NULL;
            UPDATE batches SET quarantined_ms = created_ms WHERE status = 2;
            CREATE INDEX ix_batches_anchor_gen ON batches(anchor_gen) WHERE anchor_gen IS NOT NULL;
            CREATE INDEX ix_batches_quarantined ON batches(quarantined_ms) WHERE status = 2;
            CREATE TABLE deferred_anchors(gen INTEGER PRIMARY KEY, anchors BLOB NOT NULL);
            PRAGMA user_version = 1;
            """;
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        tx.Commit();
    }
}
