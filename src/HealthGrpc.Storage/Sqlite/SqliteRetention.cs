namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// Schema of retention: each user's change-feed floor, and per type the time before which raw items were purged
/// (migration 12); where each resumable retention task continues, e.g. the ack compaction's last batch id (migration 15).
/// </summary>
internal static class SqliteRetention
{
    public const string MigrationSql = """
        ALTER TABLE users ADD COLUMN change_floor INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE retention_horizons (
            type INTEGER PRIMARY KEY,
            purged_before_ms INTEGER NOT NULL
        );
        """;

    public const string ProgressMigrationSql = """
        CREATE TABLE retention_progress (
            task TEXT PRIMARY KEY,
            position INTEGER NOT NULL
        );
        """;

    /// <summary>The <c>retention_progress</c> task of the ack compaction.</summary>
    public const string AckCompactionTask = "ack-compaction";
}
