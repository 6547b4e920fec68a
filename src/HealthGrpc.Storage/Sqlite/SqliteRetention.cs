namespace HealthGrpc.Storage.Sqlite;

/// <summary>Schema of retention (migration 12): each user's change-feed floor, and per type the time before which raw items were purged.</summary>
internal static class SqliteRetention
{
    public const string MigrationSql = """
        ALTER TABLE users ADD COLUMN change_floor INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE retention_horizons (
            type INTEGER PRIMARY KEY,
            purged_before_ms INTEGER NOT NULL
        );
        """;
}
