using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// <see cref="IInsightStore"/> on PostgreSQL. A write that changes insights takes change sequences exactly like an
/// ingest group (<see cref="PgGroupReader"/>): it locks the user's row (SELECT … FOR UPDATE, held to COMMIT), reads
/// users.change_seq under the lock, gives each changed insight the next sequence, stores the counter and NOTIFYs
/// <see cref="PgGroupWriter.Channel"/> in the same transaction. So a user's commits (ingest or insight, on any instance)
/// become visible in sequence order and <see cref="PgChangeReader"/>'s snapshot holds a prefix of them. These writes are
/// run by the instance's writer loop, each a transaction of its own between ingest groups (<see cref="RetentionItem{T}"/>):
/// on the writer's connection, whose NOTIFYs this instance's listener skips, because the store publishes them itself
/// once committed. Reads and the zone setting use pooled connections.
/// </summary>
internal sealed class PgInsights(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Migration 6: insights (one open row per user and kind at most; the row's seq is its latest change-feed sequence,
    /// so the feed publishes each insight once, at its latest state) and insight_settings (the user's zone).
    /// </summary>
    public const string MigrationSql = """
        CREATE TABLE insights (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            insight_id text NOT NULL UNIQUE,
            user_ref bigint NOT NULL REFERENCES users (id),
            kind int NOT NULL,
            severity int NOT NULL,
            direction int NOT NULL,
            data_type int NOT NULL,
            code text NOT NULL,
            message text NOT NULL,
            period_start_ms bigint NOT NULL,
            period_end_ms bigint NOT NULL,
            start_value double precision NOT NULL,
            end_value double precision NOT NULL,
            change double precision NOT NULL,
            average double precision NOT NULL,
            unit text NOT NULL,
            days_with_data int NOT NULL,
            seq bigint NOT NULL,
            created_ms bigint NOT NULL,
            updated_ms bigint NOT NULL,
            closed_ms bigint,
            acknowledged_ms bigint
        );
        CREATE UNIQUE INDEX insights_user_seq ON insights (user_ref, seq);
        CREATE UNIQUE INDEX insights_user_open_kind ON insights (user_ref, kind) WHERE closed_ms IS NULL;
        CREATE INDEX insights_user_id ON insights (user_ref, id);
        CREATE INDEX insights_expiry ON insights ((COALESCE(closed_ms, updated_ms)));
        CREATE TABLE insight_settings (
            user_ref bigint PRIMARY KEY REFERENCES users (id),
            time_zone text NOT NULL
        );
        """;

    /// <summary>The change-feed query of insights (the shape of <see cref="PgChangeReader"/>'s other tables).</summary>
    public const string ChangesSql = $"SELECT {InsightRows.Columns} FROM insights WHERE user_ref = @u AND seq > @a ORDER BY seq LIMIT @n";

    private const string LockUserSql = "SELECT id, change_seq FROM users WHERE user_id = @user FOR UPDATE";

    private const string FindingColumns = """
        severity = @severity, direction = @direction, data_type = @type, code = @code, message = @message,
        period_start_ms = @from, period_end_ms = @to, start_value = @startValue, end_value = @endValue,
        change = @change, average = @average, unit = @unit, days_with_data = @days
        """;

    // ---- writes: inside a transaction of the writer loop ----------------------------------------------------------

    public static async Task<InsightReconciliation> ReconcileAsync(
        NpgsqlConnection connection, string userId, IReadOnlyList<InsightFinding> findings, long nowMs, CancellationToken ct)
    {
        if (await LockUserAsync(connection, userId, ct).ConfigureAwait(false) is not { } locked)
        {
            return new InsightReconciliation(0, 0, 0, 0);
        }

        var (userRef, changeSeq) = locked;

        // Read under the lock: a reconciliation of this user on another instance committed before, or waits for this one.
        var open = await ManyAsync(
            connection, $"SELECT {InsightRows.Columns} FROM insights WHERE user_ref = @u AND closed_ms IS NULL", ct, Value("u", userRef)).ConfigureAwait(false);
        var writes = InsightRows.Plan(open, findings);
        if (writes.Count == 0)
        {
            return InsightRows.Outcome(writes, changeSeq);
        }

        await using var batch = new NpgsqlBatch(connection);
        foreach (var write in writes)
        {
            var seq = ++changeSeq;
            batch.BatchCommands.Add(write.Kind switch
            {
                InsightWriteKind.Raise => Command(
                    $"""
                    INSERT INTO insights (insight_id, user_ref, kind, seq, created_ms, updated_ms, severity, direction, data_type, code, message,
                                          period_start_ms, period_end_ms, start_value, end_value, change, average, unit, days_with_data)
                    VALUES (@id, @u, @kind, @seq, @now, @now, @severity, @direction, @type, @code, @message,
                            @from, @to, @startValue, @endValue, @change, @average, @unit, @days)
                    """,
                    [Value("id", InsightRows.NewInsightId()), Value("u", userRef), Value("kind", (int)write.Finding!.Kind), Value("seq", seq),
                     Value("now", nowMs), .. FindingParameters(write.Finding)]),
                InsightWriteKind.Update => Command(
                    $"""
                    UPDATE insights SET {FindingColumns}, seq = @seq, updated_ms = @now,
                                        acknowledged_ms = CASE WHEN @drop THEN NULL ELSE acknowledged_ms END
                    WHERE id = @row
                    """,
                    [Value("row", write.Current!.Id), Value("seq", seq), Value("now", nowMs), Value("drop", write.DropsAcknowledgement),
                     .. FindingParameters(write.Finding!)]),
                _ => Command(
                    "UPDATE insights SET closed_ms = @now, updated_ms = @now, seq = @seq WHERE id = @row",
                    Value("row", write.Current!.Id), Value("seq", seq), Value("now", nowMs)),
            });
        }

        AddAdvanceAndNotify(batch, userRef, changeSeq, userId);
        await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return InsightRows.Outcome(writes, changeSeq);
    }

    public static async Task<InsightRecord?> AcknowledgeAsync(NpgsqlConnection connection, string userId, string insightId, long nowMs, CancellationToken ct)
    {
        if (await LockUserAsync(connection, userId, ct).ConfigureAwait(false) is not { } locked)
        {
            return null;
        }

        var (userRef, changeSeq) = locked;

        var insight = (await ManyAsync(
            connection, $"SELECT {InsightRows.Columns} FROM insights WHERE insight_id = @id AND user_ref = @u", ct,
            Value("id", insightId), Value("u", userRef)).ConfigureAwait(false)).SingleOrDefault();
        if (insight is null || insight.AcknowledgedUnixMs is not null)
        {
            return insight;
        }

        // A new sequence: other readers of the feed (the user's other devices) learn of the acknowledgement.
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command(
            $"UPDATE insights SET acknowledged_ms = @now, seq = @seq WHERE id = @row RETURNING {InsightRows.Columns}",
            Value("now", nowMs), Value("seq", changeSeq + 1), Value("row", insight.Id)));
        AddAdvanceAndNotify(batch, userRef, changeSeq + 1, userId);
        await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        var acknowledged = InsightRows.Read(reader);
        while (await reader.NextResultAsync(ct).ConfigureAwait(false))
        {
            // the counter and the NOTIFY return nothing to read
        }

        return acknowledged;
    }

    /// <summary>
    /// Deletes at most <paramref name="maxRows"/> expired insights (the oldest first) and raises each affected user's
    /// feed floor to the highest sequence deleted. The users' rows are locked first, in id order like every ingest group
    /// (no deadlock), and the expired rows chosen again under the locks: an insight updated meanwhile is kept.
    /// </summary>
    public static async Task<PurgeResult> PurgeAsync(NpgsqlConnection connection, long beforeMs, int maxRows, CancellationToken ct)
    {
        const string Expired = "COALESCE(closed_ms, updated_ms) < @before ORDER BY COALESCE(closed_ms, updated_ms) LIMIT @limit";
        var users = new List<long>();
        await using (var lockUsers = Command(
            connection,
            $"SELECT id FROM users WHERE id IN (SELECT user_ref FROM insights WHERE {Expired}) ORDER BY id FOR UPDATE",
            Value("before", beforeMs), Value("limit", maxRows)))
        await using (var reader = await lockUsers.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                users.Add(reader.GetInt64(0));
            }
        }

        if (users.Count == 0)
        {
            return new PurgeResult(0, More: false);
        }

        await using var purge = Command(
            connection,
            $"""
            WITH purged AS (
                DELETE FROM insights WHERE id IN (SELECT id FROM insights WHERE user_ref = ANY (@users) AND {Expired})
                RETURNING user_ref, seq),
            floors AS (
                UPDATE users SET change_floor = GREATEST(change_floor, p.seq)
                FROM (SELECT user_ref, MAX(seq) AS seq FROM purged GROUP BY user_ref) AS p
                WHERE users.id = p.user_ref)
            SELECT COUNT(*)::int FROM purged
            """,
            Array("users", NpgsqlDbType.Bigint, users), Value("before", beforeMs), Value("limit", maxRows));
        var purged = (int)(await purge.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        return new PurgeResult(purged, More: purged == maxRows);
    }

    // ---- reads and settings: pooled connections -------------------------------------------------------------------

    public async Task<IReadOnlyList<InsightRecord>> ListAsync(InsightQuery query, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await ManyAsync(
            connection,
            $"""
            SELECT {InsightRows.Columns} FROM insights
            WHERE user_ref = (SELECT id FROM users WHERE user_id = @user)
              AND (@before IS NULL OR id < @before)
              AND (@closed OR closed_ms IS NULL)
              AND (NOT @unacknowledged OR acknowledged_ms IS NULL)
              AND (cardinality(@kinds) = 0 OR kind = ANY (@kinds))
            ORDER BY id DESC
            LIMIT @limit
            """,
            ct,
            Value("user", query.UserId), Nullable("before", NpgsqlDbType.Bigint, query.BeforeId), Value("closed", query.IncludeClosed),
            Value("unacknowledged", query.UnacknowledgedOnly), Array("kinds", NpgsqlDbType.Integer, query.Kinds.Select(kind => (int)kind).ToArray()),
            Value("limit", query.Limit)).ConfigureAwait(false);
    }

    public async Task<string?> GetTimeZoneAsync(string userId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(
            connection, "SELECT time_zone FROM insight_settings WHERE user_ref = (SELECT id FROM users WHERE user_id = @user)", Value("user", userId));
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
    }

    public async Task<bool> SetTimeZoneAsync(string userId, string? timeZoneId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        // One statement: stores or clears the zone of a known user, and says whether the user is known.
        await using var command = Command(
            connection,
            """
            WITH target AS (SELECT id FROM users WHERE user_id = @user),
            cleared AS (DELETE FROM insight_settings WHERE @zone IS NULL AND user_ref = (SELECT id FROM target)),
            stored AS (
                INSERT INTO insight_settings (user_ref, time_zone) SELECT id, @zone FROM target WHERE @zone IS NOT NULL
                ON CONFLICT (user_ref) DO UPDATE SET time_zone = excluded.time_zone)
            SELECT EXISTS (SELECT 1 FROM target)
            """,
            Value("user", userId), Nullable("zone", NpgsqlDbType.Text, timeZoneId));
        return (bool)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    /// <summary>The user's row lock (held to COMMIT) and change counter as of it; null for an unknown user.</summary>
    private static async Task<(long UserRef, long ChangeSeq)?> LockUserAsync(NpgsqlConnection connection, string userId, CancellationToken ct)
    {
        await using var command = Command(connection, LockUserSql, Value("user", userId));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    /// <summary>The user's counter moves to the last sequence taken; the NOTIFY reaches the other instances once committed.</summary>
    private static void AddAdvanceAndNotify(NpgsqlBatch batch, long userRef, long changeSeq, string userId)
    {
        batch.BatchCommands.Add(Command("UPDATE users SET change_seq = @seq WHERE id = @u", Value("seq", changeSeq), Value("u", userRef)));
        batch.BatchCommands.Add(Command("SELECT pg_notify(@channel, @user)", Value("channel", PgGroupWriter.Channel), Value("user", userId)));
    }

    private static NpgsqlParameter[] FindingParameters(InsightFinding finding) =>
    [
        Value("severity", finding.Severity), Value("direction", finding.Direction), Value("type", finding.DataType), Value("code", finding.Code),
        Value("message", finding.Message), Value("from", finding.PeriodStartUnixMs), Value("to", finding.PeriodEndUnixMs),
        Value("startValue", finding.StartValue), Value("endValue", finding.EndValue), Value("change", finding.Change),
        Value("average", finding.Average), Value("unit", finding.Unit), Value("days", finding.DaysWithData),
    ];

    private static async Task<List<InsightRecord>> ManyAsync(NpgsqlConnection connection, string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var insights = new List<InsightRecord>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            insights.Add(InsightRows.Read(reader));
        }

        return insights;
    }
}
