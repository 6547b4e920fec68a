using System.Globalization;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>Row count and on-disk size of one table (its indexes included in <see cref="IndexBytes"/>); sizes null without dbstat.</summary>
public sealed record TableStats(string Name, long Rows, long? TableBytes, long? IndexBytes);

/// <summary>
/// Sizes of the database as a whole (pages, page size, free pages, the WAL beside it) and per table. Per-table sizes
/// need SQLite's dbstat virtual table (<see cref="HasPerTableSizes"/>); the SQLite bundled with Microsoft.Data.Sqlite is
/// built without it, so there only row counts and the page counts of the whole file are reported.
/// </summary>
public sealed record DatabaseStats(long PageCount, long PageSize, long FreePages, long WalBytes, bool HasPerTableSizes, IReadOnlyList<TableStats> Tables);

/// <summary>
/// Read-only inspection of a store file for operators (`healthgrpc db check|stats`): schema version, integrity, sizes.
/// Never creates or migrates the file (a mistyped path is reported, not turned into an empty database).
/// </summary>
public static class SqliteDatabaseInfo
{
    /// <summary>The schema version recorded in the file (0 for a file the store never migrated).</summary>
    public static int SchemaVersion(string path)
    {
        using var connection = OpenReadOnly(path);
        using var exists = Command(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
        if (Scalar(exists) == 0)
        {
            return 0;
        }

        using var version = Command(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        return (int)Scalar(version);
    }

    /// <summary>Applies the missing migrations (creating the file if needed); returns how many were applied.</summary>
    public static int Migrate(string path, TimeSpan busyTimeout)
    {
        using var connection = SqliteSchema.OpenWriter(path, busyTimeout, cacheKiB: 1024);
        return SqliteSchema.Migrate(connection);
    }

    /// <summary>The problems <c>PRAGMA integrity_check</c> reports; empty when the file is intact.</summary>
    public static IReadOnlyList<string> CheckIntegrity(string path)
    {
        using var connection = OpenReadOnly(path);
        using var check = Command(connection, "PRAGMA integrity_check");
        using var reader = check.ExecuteReader();
        var problems = new List<string>();
        while (reader.Read())
        {
            var line = reader.GetString(0);
            if (!string.Equals(line, "ok", StringComparison.Ordinal))
            {
                problems.Add(line);
            }
        }

        return problems;
    }

    /// <summary>Rows and bytes per table (bytes from the dbstat virtual table when SQLite was built with it).</summary>
    public static DatabaseStats Stats(string path)
    {
        using var connection = OpenReadOnly(path);
        var bytes = BytesPerTable(connection);
        var tables = new List<TableStats>();
        using (var list = Command(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"))
        using (var reader = list.ExecuteReader())
        {
            while (reader.Read())
            {
                var name = reader.GetString(0);
                using var count = Command(connection, $"SELECT COUNT(*) FROM \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"");
                var size = bytes?.GetValueOrDefault(name);
                tables.Add(new TableStats(name, Scalar(count), bytes is null ? null : size?.Table ?? 0, bytes is null ? null : size?.Indexes ?? 0));
            }
        }

        using var pages = Command(connection, "PRAGMA page_count");
        using var pageSize = Command(connection, "PRAGMA page_size");
        using var free = Command(connection, "PRAGMA freelist_count");
        var wal = new FileInfo(path + "-wal");
        return new DatabaseStats(Scalar(pages), Scalar(pageSize), Scalar(free), wal.Exists ? wal.Length : 0, bytes is not null, tables);
    }

    /// <summary>Bytes of each table and of its indexes, or null when this SQLite has no dbstat.</summary>
    private static Dictionary<string, (long Table, long Indexes)>? BytesPerTable(SqliteConnection connection)
    {
        const string sql = """
            SELECT m.tbl_name, SUM(CASE WHEN m.type = 'table' THEN s.pgsize ELSE 0 END), SUM(CASE WHEN m.type = 'index' THEN s.pgsize ELSE 0 END)
            FROM dbstat s JOIN sqlite_master m ON m.name = s.name
            GROUP BY m.tbl_name
            """;
        try
        {
            using var command = Command(connection, sql);
            using var reader = command.ExecuteReader();
            var sizes = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
            while (reader.Read())
            {
                sizes[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            }

            return sizes;
        }
        catch (SqliteException error) when (error.Message.Contains("dbstat", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
    }

    private static SqliteConnection OpenReadOnly(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no store at '{path}' (set --store PATH).", path);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static long Scalar(SqliteCommand command) => Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
}
