using Npgsql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// Versioned schema of the PostgreSQL store (its own list, independent of SQLite's numbers): ordered migrations, each
/// applied once in its own transaction under a transaction-scoped advisory lock, so N server instances starting
/// together on one database migrate once.
/// </summary>
public static class PostgresSchema
{
    /// <summary>One schema migration: its SQL, then (when set) <paramref name="Code"/> for what SQL cannot do, in the same transaction.</summary>
    public sealed record Migration(
        int Version, string Name, string Sql, Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task>? Code = null);

    // Any constant shared by every instance: the advisory lock that serializes migrations on one database.
    private const long MigrationLockKey = 0x4865616c7468;

    /// <summary>Every migration, in order. Append only: never edit a shipped migration.</summary>
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "core", """
            CREATE TABLE users (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id text NOT NULL UNIQUE,
                change_seq bigint NOT NULL DEFAULT 0,
                created_ms bigint NOT NULL,
                disabled_ms bigint
            );
            CREATE TABLE tokens (
                token_hash bytea PRIMARY KEY,
                user_ref bigint NOT NULL REFERENCES users (id),
                created_ms bigint NOT NULL,
                expires_ms bigint,
                revoked_ms bigint
            );
            CREATE TABLE auth_generation (
                id int PRIMARY KEY CHECK (id = 1),
                generation bigint NOT NULL
            );
            INSERT INTO auth_generation (id, generation) VALUES (1, 0);
            -- Advanced whenever a credential is taken away, whoever writes (the CLI from another host included).
            CREATE FUNCTION advance_auth_generation() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
                RETURN NULL;
            END $$;
            CREATE TRIGGER tokens_credential_changed AFTER UPDATE OF revoked_ms, expires_ms ON tokens
                FOR EACH ROW EXECUTE FUNCTION advance_auth_generation();
            CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens
                FOR EACH ROW EXECUTE FUNCTION advance_auth_generation();
            CREATE TRIGGER users_disabled_changed AFTER UPDATE OF disabled_ms ON users
                FOR EACH ROW EXECUTE FUNCTION advance_auth_generation();
            CREATE TABLE devices (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_ref bigint NOT NULL REFERENCES users (id),
                device_id text NOT NULL,
                newest_epoch bigint NOT NULL,
                last_commit_ms bigint NOT NULL,
                UNIQUE (user_ref, device_id)
            );
            CREATE TABLE device_epochs (
                device_ref bigint NOT NULL REFERENCES devices (id),
                epoch bigint NOT NULL,
                high_water_mark bigint NOT NULL,
                PRIMARY KEY (device_ref, epoch)
            );
            CREATE TABLE batches (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                device_ref bigint NOT NULL,
                epoch bigint NOT NULL,
                batch_seq bigint NOT NULL,
                user_ref bigint NOT NULL,
                change_seq bigint NOT NULL,
                commit_ms bigint NOT NULL,
                rejected_atomic boolean NOT NULL,
                ack bytea NOT NULL,
                UNIQUE (device_ref, epoch, batch_seq)
            );
            CREATE INDEX batches_user_change_seq ON batches (user_ref, change_seq);
            CREATE TABLE anchors (
                device_ref bigint NOT NULL,
                type int NOT NULL,
                vendor_type text NOT NULL,
                epoch bigint NOT NULL,
                batch_seq bigint NOT NULL,
                anchor bytea NOT NULL,
                PRIMARY KEY (device_ref, type, vendor_type)
            );
            CREATE TABLE sources (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                kind int NOT NULL,
                name text NOT NULL,
                manufacturer text NOT NULL,
                model text NOT NULL,
                hardware_version text NOT NULL,
                software_version text NOT NULL,
                app_id text NOT NULL,
                UNIQUE (kind, name, manufacturer, model, hardware_version, software_version, app_id)
            );
            CREATE TABLE units (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                unit text NOT NULL UNIQUE
            );
            -- The same layout as SQLite's migration 4: the primary key (user, type, start, seq) is the time index
            -- (a heap table in PostgreSQL: the key is a btree beside it; ingest appends each user's new rows to the
            -- heap in time order, and CLUSTER samples USING samples_pkey re-sorts an old table), the (user, uuid)
            -- unique index is the dedup key. No foreign keys on the hot tables: the writer resolves every ref.
            CREATE TABLE samples (
                user_ref bigint NOT NULL,
                type int NOT NULL,
                start_ms bigint NOT NULL,
                seq bigint NOT NULL,
                uuid uuid NOT NULL,
                vendor_type text,
                end_ms bigint NOT NULL,
                zone int,
                quantity double precision,
                category int,
                unit_ref bigint NOT NULL,
                source_ref bigint NOT NULL,
                device_ref bigint NOT NULL,
                sync_id text,
                sync_version bigint,
                metadata text,
                PRIMARY KEY (user_ref, type, start_ms, seq)
            );
            CREATE UNIQUE INDEX samples_user_uuid ON samples (user_ref, uuid);
            CREATE UNIQUE INDEX samples_user_seq ON samples (user_ref, seq);
            CREATE UNIQUE INDEX samples_user_sync ON samples (user_ref, sync_id) WHERE sync_id IS NOT NULL;
            CREATE TABLE series (
                user_ref bigint NOT NULL,
                uuid uuid NOT NULL,
                seq bigint NOT NULL,
                type int NOT NULL,
                vendor_type text,
                unit_ref bigint NOT NULL,
                source_ref bigint NOT NULL,
                device_ref bigint NOT NULL,
                start_ms bigint NOT NULL,
                end_ms bigint NOT NULL,
                zone int,
                point_count int NOT NULL,
                payload bytea NOT NULL,
                PRIMARY KEY (user_ref, uuid)
            );
            CREATE UNIQUE INDEX series_user_seq ON series (user_ref, seq);
            CREATE TABLE waveforms (
                user_ref bigint NOT NULL,
                uuid uuid NOT NULL,
                chunk_index bigint NOT NULL,
                chunk_count bigint NOT NULL,
                seq bigint NOT NULL,
                type int NOT NULL,
                vendor_type text,
                unit_ref bigint NOT NULL,
                source_ref bigint NOT NULL,
                device_ref bigint NOT NULL,
                start_ms bigint NOT NULL,
                zone int,
                frequency_hz double precision NOT NULL,
                lead int NOT NULL,
                first_sample_index bigint NOT NULL,
                point_count int NOT NULL,
                payload bytea NOT NULL,
                PRIMARY KEY (user_ref, uuid, chunk_index)
            );
            CREATE UNIQUE INDEX waveforms_user_seq ON waveforms (user_ref, seq);
            CREATE TABLE tombstones (
                user_ref bigint NOT NULL,
                uuid uuid NOT NULL,
                seq bigint NOT NULL,
                deleted_ms bigint NOT NULL,
                device_ref bigint NOT NULL,
                PRIMARY KEY (user_ref, uuid)
            );
            CREATE UNIQUE INDEX tombstones_user_seq ON tombstones (user_ref, seq);
            CREATE TABLE replaced_samples (
                user_ref bigint NOT NULL,
                seq bigint NOT NULL,
                uuid uuid NOT NULL,
                device_ref bigint NOT NULL,
                PRIMARY KEY (user_ref, seq)
            );
            CREATE TABLE records (
                user_ref bigint NOT NULL,
                record_type text NOT NULL,
                record_id text NOT NULL,
                version bigint NOT NULL,
                deleted boolean NOT NULL,
                content_type text NOT NULL,
                payload bytea NOT NULL,
                modified_ms bigint NOT NULL,
                device_ref bigint NOT NULL,
                seq bigint NOT NULL,
                PRIMARY KEY (user_ref, record_type, record_id)
            );
            CREATE UNIQUE INDEX records_user_seq ON records (user_ref, seq);
            CREATE TABLE rollups (
                user_ref bigint NOT NULL,
                type int NOT NULL,
                bucket_ms bigint NOT NULL,
                source_ref bigint NOT NULL,
                sum double precision NOT NULL,
                count bigint NOT NULL,
                min double precision NOT NULL,
                max double precision NOT NULL,
                first double precision NOT NULL,
                first_ms bigint NOT NULL,
                last double precision NOT NULL,
                last_ms bigint NOT NULL,
                PRIMARY KEY (user_ref, type, bucket_ms, source_ref)
            );
            CREATE TABLE health_probe (
                id int PRIMARY KEY CHECK (id = 1),
                probed_ms bigint NOT NULL
            );
            """),
        new(2, "grants", PgGrants.MigrationSql),
        new(3, "quotas", PgUsage.MigrationSql),
        new(4, "retention", PgRetention.MigrationSql),
        new(5, "source_priority_retention_progress", PgSourcePriorities.MigrationSql + PgRetention.ProgressMigrationSql),
        new(6, "insights", PgInsights.MigrationSql),
        // Series in the rollups: the (user, type, source, end) index of series, and the stored series' points added to the rollups.
        new(7, "series_rollups", PgSeriesRollups.MigrationSql, PgSeriesRollups.AddStoredSeriesAsync),
    ];

    /// <summary>The newest schema version.</summary>
    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>The schema version of the database (0 when empty).</summary>
    public static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        // Two statements: a reference to a missing table fails at parse time, even in a CASE branch never taken.
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('schema_migrations') IS NOT NULL", connection))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(ct).ConfigureAwait(false))!)
            {
                return 0;
            }
        }

        await using var command = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Applies the missing migrations, each in its own transaction that records it. Returns how many were applied.</summary>
    public static async Task<int> MigrateAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var applied = 0;
        foreach (var migration in Migrations)
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (var setup = new NpgsqlCommand(
                """
                SELECT pg_advisory_xact_lock(@lock);
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version int PRIMARY KEY,
                    name text NOT NULL,
                    applied_ms bigint NOT NULL
                );
                """,
                connection,
                transaction))
            {
                setup.Parameters.AddWithValue("lock", MigrationLockKey);
                await setup.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            // Checked under the lock: an instance that waited sees the other's migration and skips it.
            await using (var check = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = @v)", connection, transaction))
            {
                check.Parameters.AddWithValue("v", migration.Version);
                if ((bool)(await check.ExecuteScalarAsync(ct).ConfigureAwait(false))!)
                {
                    await transaction.RollbackAsync(ct).ConfigureAwait(false);
                    continue;
                }
            }

            await using (var run = new NpgsqlCommand(migration.Sql, connection, transaction))
            {
                await run.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            if (migration.Code is { } code)
            {
                await code(connection, transaction, ct).ConfigureAwait(false);
            }

            await using (var record = new NpgsqlCommand(
                "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (@v, @n, @t)", connection, transaction))
            {
                record.Parameters.AddWithValue("v", migration.Version);
                record.Parameters.AddWithValue("n", migration.Name);
                record.Parameters.AddWithValue("t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await record.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            applied++;
        }

        return applied;
    }
}
