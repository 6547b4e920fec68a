using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// Retention on PostgreSQL: bounded purges of old raw items of one type (rollups untouched, the users' change-feed
/// floors moved, the type's horizon raised so a re-sent old item is not stored again) and bounded compaction of old
/// stored acks. Each call is one transaction on the writer's connection, queued with the ingest groups of its instance
/// (first in, first out), so ingest waits at most for one bounded batch. Rows are deleted in batches by the samples'
/// time key, not by dropping partitions: src/HealthGrpc.Storage/README.md ("PostgreSQL", retention) says why. The ack
/// compaction saves its position in its own transaction, so a restarted server continues where it ended.
/// </summary>
internal static class PgRetention
{
    /// <summary>Migration 4: each user's change-feed floor, and per type the time before which raw items were purged.</summary>
    public const string MigrationSql = """
        ALTER TABLE users ADD COLUMN change_floor bigint NOT NULL DEFAULT 0;
        CREATE TABLE retention_horizons (
            type int PRIMARY KEY,
            purged_before_ms bigint NOT NULL
        );
        """;

    /// <summary>
    /// Migration 5 (with <see cref="PgSourcePriorities.MigrationSql"/>): where each resumable retention task continues,
    /// e.g. the ack compaction's last batch id.
    /// </summary>
    public const string ProgressMigrationSql = """
        CREATE TABLE retention_progress (
            task text PRIMARY KEY,
            position bigint NOT NULL
        );
        """;

    /// <summary>The <c>retention_progress</c> task of the ack compaction (the same name as SQLite's).</summary>
    private const string AckCompactionTask = "ack-compaction";

    // Per user, one statement: the oldest samples of the type first, exactly @limit of them, as one range of the
    // (user, type, start, seq) key up to the limit-th oldest (a join of the doomed rows back to the table would let the
    // planner pick a nested loop over a table it has no statistics of yet), then series and waveform chunks (few, large
    // rows without a time index: a scan of the user's rows) up to what is left of the limit, and the floor raised to the
    // highest sequence removed.
    private const string PurgeUserSql = """
        WITH last AS (
            SELECT start_ms, seq FROM samples WHERE user_ref = @u AND type = @type AND start_ms < @before
            ORDER BY start_ms, seq OFFSET @limit - 1 LIMIT 1),
        s AS (
            DELETE FROM samples
            WHERE user_ref = @u AND type = @type AND start_ms < @before
              AND (start_ms, seq) <= (COALESCE((SELECT start_ms FROM last), @before), COALESCE((SELECT seq FROM last), 0))
            RETURNING seq),
        r AS (
            DELETE FROM series WHERE ctid = ANY (ARRAY (
                SELECT ctid FROM series WHERE user_ref = @u AND type = @type AND start_ms < @before
                LIMIT GREATEST(0, @limit - (SELECT COUNT(*) FROM s))))
            RETURNING seq),
        w AS (
            DELETE FROM waveforms WHERE ctid = ANY (ARRAY (
                SELECT ctid FROM waveforms WHERE user_ref = @u AND type = @type AND start_ms < @before
                LIMIT GREATEST(0, @limit - (SELECT COUNT(*) FROM s) - (SELECT COUNT(*) FROM r))))
            RETURNING seq),
        purged AS (SELECT seq FROM s UNION ALL SELECT seq FROM r UNION ALL SELECT seq FROM w),
        floor AS (
            UPDATE users SET change_floor = GREATEST(change_floor, (SELECT MAX(seq) FROM purged))
            WHERE id = @u AND EXISTS (SELECT 1 FROM purged)
            RETURNING 1)
        SELECT (SELECT COUNT(*) FROM purged)::int, (SELECT COUNT(*) FROM floor)::int
        """;

    public static async Task<PurgeResult> PurgeAsync(NpgsqlConnection connection, int type, long beforeMs, int maxRows, CancellationToken ct)
    {
        // The horizon first: its row lock orders concurrent purges of one type (on any instance) before any user lock.
        await using (var raise = Command(
            connection,
            """
            INSERT INTO retention_horizons (type, purged_before_ms) VALUES (@type, @before)
            ON CONFLICT (type) DO UPDATE SET purged_before_ms = GREATEST(retention_horizons.purged_before_ms, excluded.purged_before_ms)
            """,
            Value("type", type), Value("before", beforeMs)))
        {
            await raise.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        var users = new List<long>();
        await using (var find = Command(
            connection,
            """
            SELECT u.id FROM users u
            WHERE EXISTS (SELECT 1 FROM samples WHERE user_ref = u.id AND type = @type AND start_ms < @before)
               OR EXISTS (SELECT 1 FROM series WHERE user_ref = u.id AND type = @type AND start_ms < @before)
               OR EXISTS (SELECT 1 FROM waveforms WHERE user_ref = u.id AND type = @type AND start_ms < @before)
            ORDER BY u.id
            """,
            Value("type", type), Value("before", beforeMs)))
        await using (var reader = await find.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                users.Add(reader.GetInt64(0));
            }
        }

        var purged = 0;
        foreach (var user in users)
        {
            var remaining = maxRows - purged;
            if (remaining <= 0)
            {
                return new PurgeResult(purged, More: true);
            }

            // The user's row lock first (id order, like every ingest group, so no deadlock): a group of this user on any
            // instance either committed before (its rows are deleted by the next statement) or waits and then reads the
            // raised horizon.
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(Command("SELECT 1 FROM users WHERE id = @u FOR UPDATE", Value("u", user)));
            batch.BatchCommands.Add(Command(
                PurgeUserSql, Value("u", user), Value("type", type), Value("before", beforeMs), Value("limit", remaining)));
            await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await reader.NextResultAsync(ct).ConfigureAwait(false);
            await reader.ReadAsync(ct).ConfigureAwait(false);
            purged += reader.GetInt32(0);
        }

        return new PurgeResult(purged, More: purged >= maxRows);
    }

    /// <summary>
    /// One bounded step over the batches after <paramref name="afterPosition"/> in id order: the acks of the old ones
    /// cleared, and the position reached saved in <c>retention_progress</c> by the same statement, so in the step's
    /// transaction (<see cref="ReadAckPositionAsync"/>).
    /// </summary>
    public static async Task<AckCompaction> CompactAcksAsync(NpgsqlConnection connection, long beforeMs, long afterPosition, int maxRows, CancellationToken ct)
    {
        // The position stops before the first examined batch still too young, so a later sweep, once it is old, finds it
        // (batch ids grow with commit time: drawn inside the commit transactions, across instances only roughly, but a
        // batch's id is drawn moments before it commits, far less than the age a batch must reach to be compacted).
        // The latest batch of each device epoch keeps its ack: that is the batch a client that lost its last ack replays.
        await using var command = Command(
            connection,
            """
            WITH examined AS (SELECT id, commit_ms FROM batches WHERE id > @after ORDER BY id LIMIT @limit),
            reached AS (
                SELECT COALESCE(MAX(id), @after) AS id FROM examined
                WHERE id < ALL (SELECT id FROM examined WHERE commit_ms >= @before)),
            compacted AS (
                UPDATE batches b SET ack = ''::bytea
                FROM examined x, device_epochs e
                WHERE b.id = x.id AND x.id <= (SELECT id FROM reached) AND octet_length(b.ack) > 0
                  AND e.device_ref = b.device_ref AND e.epoch = b.epoch AND b.batch_seq < e.high_water_mark
                RETURNING 1),
            saved AS (
                INSERT INTO retention_progress (task, position) SELECT @task, id FROM reached
                ON CONFLICT (task) DO UPDATE SET position = excluded.position)
            SELECT (SELECT COUNT(*) FROM examined)::int, (SELECT id FROM reached),
                   EXISTS (SELECT 1 FROM examined WHERE commit_ms >= @before), (SELECT COUNT(*) FROM compacted)::int
            """,
            Value("after", afterPosition), Value("limit", maxRows), Value("before", beforeMs), Value("task", AckCompactionTask));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        var (examined, position, reachedYoung, compacted) = (reader.GetInt32(0), reader.GetInt64(1), reader.GetBoolean(2), reader.GetInt32(3));
        return new AckCompaction(compacted, position, Done: examined < maxRows || reachedYoung);
    }

    /// <summary>The position the last committed <see cref="CompactAcksAsync"/> step saved (0 before the first).</summary>
    public static async Task<long> ReadAckPositionAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = Command(
            connection, "SELECT COALESCE((SELECT position FROM retention_progress WHERE task = @task), 0)", Value("task", AckCompactionTask));
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>The user's change-feed floor (0 for an unknown user or while nothing of theirs was purged).</summary>
    public static async Task<long> ReadFloorAsync(NpgsqlConnection connection, string userId, CancellationToken ct)
    {
        await using var command = Command(connection, "SELECT COALESCE((SELECT change_floor FROM users WHERE user_id = @u), 0)", Value("u", userId));
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}

/// <summary>
/// A retention call (or another write that must take users' locks alone, like an insight write) for the writer loop:
/// one transaction of its own on the writer's connection, in queue order. <paramref name="failure"/> says what failed.
/// </summary>
internal sealed class RetentionItem<T>(
    int rows, Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken,
    string failure = "The retention batch failed; nothing of it was applied.")
    : PgWorkItem<T>(rows, cancellationToken), IRetentionWork
{
    public async Task ExecuteAsync(PgWriterConnection writer)
    {
        if (CancellationToken.IsCancellationRequested)
        {
            Cancel();
            return;
        }

        // Statements are bounded by the command timeout, like the ingest groups'.
        var ct = CancellationToken.None;
        try
        {
            var connection = await writer.OpenAsync(ct).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            Result = await work(connection, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            await writer.ResetAsync().ConfigureAwait(false);
            Fail(new HealthStoreUnavailableException(failure, error));
            return;
        }

        Complete();
    }
}

/// <summary>Work of the writer loop that runs alone, between ingest groups (see <see cref="RetentionItem{T}"/>).</summary>
internal interface IRetentionWork
{
    Task ExecuteAsync(PgWriterConnection writer);
}
