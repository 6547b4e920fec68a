using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>
/// The client's tables: the version-0 base, created on open when absent, then the versioned additions
/// (<c>PRAGMA user_version</c>), applied in order on open; each step runs in one transaction, so a crash mid-migration
/// leaves the previous version intact.
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

    /// <summary>The connection's settings and the version-0 tables (a no-op on an existing store).</summary>
    public static async Task CreateAsync(SqliteConnection db, CancellationToken ct)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            PRAGMA busy_timeout=10000;
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS batches(
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              tier INTEGER NOT NULL,
              status INTEGER NOT NULL,
              seq INTEGER NULL,
              atomic INTEGER NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0,
              next_attempt_ms INTEGER NOT NULL,
              created_ms INTEGER NOT NULL,
              sample_count INTEGER NOT NULL,
              bytes INTEGER NOT NULL,
              anchors BLOB NULL,
              payload BLOB NOT NULL,
              last_error TEXT NULL);
            CREATE INDEX IF NOT EXISTS ix_batches_dispatch ON batches(status, tier, id);
            CREATE UNIQUE INDEX IF NOT EXISTS ix_batches_seq ON batches(seq) WHERE seq IS NOT NULL;
            CREATE TABLE IF NOT EXISTS anchors(
              type INTEGER NOT NULL,
              vendor_type TEXT NOT NULL,
              committed BLOB NULL,
              committed_gen INTEGER NOT NULL DEFAULT 0,
              committed_ms INTEGER NOT NULL DEFAULT 0,
              enqueued BLOB NULL,
              enqueued_gen INTEGER NOT NULL DEFAULT 0,
              PRIMARY KEY(type, vendor_type));
            """;
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Applies the steps the store lacks, each in its own transaction.</summary>
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
