using HealthGrpc.Storage.Sqlite;
using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>Sizes of a PostgreSQL store: the whole database and, per table of the store's schema, rows and bytes.</summary>
public sealed record PostgresDatabaseStats(string Schema, long DatabaseBytes, IReadOnlyList<TableStats> Tables);

/// <summary>
/// Inspection of a PostgreSQL store for operators (`healthgrpc db migrate|check|stats --provider postgres`): schema
/// version, a check of what the store relies on, sizes. Only <see cref="MigrateAsync"/> writes.
/// </summary>
public static class PostgresDatabaseInfo
{
    /// <summary>Applies the missing migrations (as the server does at start); returns how many were applied.</summary>
    public static async Task<int> MigrateAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = await OpenAsync(connectionString, ct).ConfigureAwait(false);
        return await PostgresSchema.MigrateAsync(connection, ct).ConfigureAwait(false);
    }

    /// <summary>The schema version recorded in the database (0 for a database the store never migrated).</summary>
    public static async Task<int> SchemaVersionAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = await OpenAsync(connectionString, ct).ConfigureAwait(false);
        return await PostgresSchema.CurrentVersionAsync(connection, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// What the store needs of the database, as problems (empty: all is well): every migration of this build recorded
    /// once and none unknown, every table of the schema present, and durable commits (synchronous_commit and fsync on:
    /// the store refuses to open otherwise).
    /// </summary>
    public static async Task<IReadOnlyList<string>> CheckAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = await OpenAsync(connectionString, ct).ConfigureAwait(false);
        var problems = new List<string>();
        var recorded = new List<int>();
        if (await PostgresSchema.CurrentVersionAsync(connection, ct).ConfigureAwait(false) > 0)
        {
            await using var versions = Command(connection, "SELECT version FROM schema_migrations ORDER BY version");
            await using var reader = await versions.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                recorded.Add(reader.GetInt32(0));
            }
        }

        var known = PostgresSchema.Migrations.Select(m => m.Version).ToHashSet();
        problems.AddRange(recorded.Where(v => !known.Contains(v)).Select(v => $"migration {v} is recorded but unknown to this build (written by a newer healthgrpc?)"));
        var missing = PostgresSchema.Migrations.Where(m => !recorded.Contains(m.Version)).Select(m => $"{m.Version} {m.Name}").ToList();
        if (missing.Count > 0)
        {
            problems.Add($"migration(s) not applied: {string.Join(", ", missing)} (run: healthgrpc db migrate)");
        }

        if (missing.Count == 0)
        {
            await using var tables = Command(
                connection,
                "SELECT t FROM unnest(@tables) AS t WHERE to_regclass(quote_ident(t)) IS NULL ORDER BY t",
                Array("tables", NpgsqlTypes.NpgsqlDbType.Text, ExpectedTables));
            await using var reader = await tables.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                problems.Add($"table {reader.GetString(0)} is missing although its migration is recorded");
            }
        }

        await using (var settings = Command(connection, "SELECT current_setting('synchronous_commit'), current_setting('fsync')"))
        await using (var reader = await settings.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            await reader.ReadAsync(ct).ConfigureAwait(false);
            foreach (var (name, value) in (ReadOnlySpan<(string, string)>)[("synchronous_commit", reader.GetString(0)), ("fsync", reader.GetString(1))])
            {
                if (string.Equals(value, "off", StringComparison.OrdinalIgnoreCase))
                {
                    problems.Add($"{name}=off: an acknowledged batch could be lost in a crash (the store refuses to open)");
                }
            }
        }

        return problems;
    }

    /// <summary>The database's size and, per table of the store's schema (the search path's first), rows (exact) and bytes.</summary>
    public static async Task<PostgresDatabaseStats> StatsAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = await OpenAsync(connectionString, ct).ConfigureAwait(false);
        await using var command = Command(
            connection,
            """
            SELECT current_schema(), pg_database_size(current_database()), c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid)
            FROM pg_class c
            WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
            ORDER BY c.relname
            """);
        var (schema, databaseBytes) = ("", 0L);
        var sizes = new List<(string Name, long Table, long Indexes)>();
        await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                (schema, databaseBytes) = (reader.GetString(0), reader.GetInt64(1));
                sizes.Add((reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4)));
            }
        }

        var tables = new List<TableStats>();
        foreach (var (name, table, indexes) in sizes)
        {
            // The name comes from the catalog; quoted as an identifier all the same.
            await using var count = Command(connection, $"SELECT COUNT(*) FROM \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"");
            tables.Add(new TableStats(name, (long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!, table, indexes));
        }

        return new PostgresDatabaseStats(schema, databaseBytes, tables);
    }

    // The tables the migrations of this build create (schema_migrations included), checked by `db check`.
    private static readonly string[] ExpectedTables =
    [
        "schema_migrations", "users", "tokens", "auth_generation", "devices", "device_epochs", "batches", "anchors", "sources", "units",
        "samples", "series", "waveforms", "tombstones", "replaced_samples", "records", "rollups", "health_probe",
        "grants", "grant_access", "user_quotas", "retention_horizons", "retention_progress",
    ];

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString, CancellationToken ct)
    {
        var builder = PgConnectionString.Parse(connectionString);
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
        }
        catch (Exception error) when (error is NpgsqlException or IOException or TimeoutException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new HealthStoreUnavailableException($"Cannot reach PostgreSQL ({builder.Host}:{builder.Port}/{builder.Database}): {error.Message}", error);
        }

        return connection;
    }
}
