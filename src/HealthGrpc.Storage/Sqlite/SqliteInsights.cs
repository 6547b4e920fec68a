using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// <see cref="IInsightStore"/> on SQLite. Insight writes are small and rare (one per user and recompute at most), so they
/// run outside the ingest writer's group commit, each in its own short IMMEDIATE transaction
/// (<see cref="SqliteShortWrite"/>): SQLite's write lock orders them with the writer, which reads users.change_seq from
/// the database at every batch, so the sequences these writes take never collide with the writer's. Every call runs off
/// the caller's thread (Microsoft.Data.Sqlite does no asynchronous I/O).
/// </summary>
internal sealed class SqliteInsights(string path, TimeSpan busyTimeout)
{
    /// <summary>
    /// Schema version 14: insights (one open row per user and kind at most; the row's seq is its latest change-feed
    /// sequence, so the feed publishes each insight once, at its latest state) and insight_settings (the user's zone).
    /// </summary>
    public const string MigrationSql = """
        CREATE TABLE insights (
            id INTEGER PRIMARY KEY,
            insight_id TEXT NOT NULL UNIQUE,
            user_ref INTEGER NOT NULL REFERENCES users(id),
            kind INTEGER NOT NULL,
            severity INTEGER NOT NULL,
            direction INTEGER NOT NULL,
            data_type INTEGER NOT NULL,
            code TEXT NOT NULL,
            message TEXT NOT NULL,
            period_start_ms INTEGER NOT NULL,
            period_end_ms INTEGER NOT NULL,
            start_value REAL NOT NULL,
            end_value REAL NOT NULL,
            change REAL NOT NULL,
            average REAL NOT NULL,
            unit TEXT NOT NULL,
            days_with_data INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            closed_ms INTEGER,
            acknowledged_ms INTEGER
        );
        CREATE UNIQUE INDEX insights_user_seq ON insights (user_ref, seq);
        CREATE UNIQUE INDEX insights_user_open_kind ON insights (user_ref, kind) WHERE closed_ms IS NULL;
        CREATE INDEX insights_user_id ON insights (user_ref, id);
        CREATE INDEX insights_expiry ON insights (COALESCE(closed_ms, updated_ms));
        CREATE TABLE insight_settings (
            user_ref INTEGER PRIMARY KEY REFERENCES users(id),
            time_zone TEXT NOT NULL
        );
        """;

    private readonly string _readConnectionString = SqliteSchema.ReaderConnectionString(path, busyTimeout);
    private readonly SqliteShortWrite _write = new(SqliteSchema.WriterConnectionString(path, busyTimeout));

    public Task<InsightReconciliation> ReconcileAsync(string userId, IReadOnlyList<InsightFinding> findings, long nowMs, CancellationToken ct)
    {
        InsightRows.CheckFindings(findings);
        return _write.RunAsync(connection => new Reconciliation(connection, nowMs).Run(userId, findings), ct);
    }

    public Task<IReadOnlyList<InsightRecord>> ListAsync(InsightQuery query, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        // The kinds as a bit set (bit k: kind k), so the filter is one bound parameter.
        var kinds = query.Kinds.Count == 0 ? -1L : query.Kinds.Aggregate(0L, (set, kind) => set | (1L << (int)kind));
        return ReadAsync<IReadOnlyList<InsightRecord>>(connection => Many(
            connection,
            $"""
            SELECT {InsightRows.Columns} FROM insights
            WHERE user_ref = (SELECT id FROM users WHERE user_id = $user)
              AND ($before IS NULL OR id < $before)
              AND ($closed = 1 OR closed_ms IS NULL)
              AND ($unacknowledged = 0 OR acknowledged_ms IS NULL)
              AND ($kinds & (1 << kind)) != 0
            ORDER BY id DESC
            LIMIT $limit
            """,
            ("$user", query.UserId), ("$before", query.BeforeId), ("$closed", query.IncludeClosed ? 1 : 0),
            ("$unacknowledged", query.UnacknowledgedOnly ? 1 : 0), ("$kinds", kinds), ("$limit", query.Limit)), ct);
    }

    public Task<InsightRecord?> AcknowledgeAsync(string userId, string insightId, long nowMs, CancellationToken ct) => _write.RunAsync(connection =>
    {
        const string find = $"SELECT {InsightRows.Columns} FROM insights WHERE insight_id = $id AND user_ref = (SELECT id FROM users WHERE user_id = $user)";
        var insight = Many(connection, find, ("$id", insightId), ("$user", userId)).SingleOrDefault();
        if (insight is null || insight.AcknowledgedUnixMs is not null)
        {
            return insight;
        }

        // A new sequence: other readers of the feed (the user's other devices) learn of the acknowledgement.
        var sequence = UserSequence.OfInsight(connection, insight.Id);
        using (var acknowledge = Command(
            connection, "UPDATE insights SET acknowledged_ms = $now, seq = $seq WHERE id = $row", ("$now", nowMs), ("$seq", sequence.Next()), ("$row", insight.Id)))
        {
            acknowledge.ExecuteNonQuery();
        }

        sequence.Store();
        return Many(connection, find, ("$id", insightId), ("$user", userId)).Single();
    }, ct);

    public Task<string?> GetTimeZoneAsync(string userId, CancellationToken ct) => ReadAsync(connection =>
    {
        using var command = Command(
            connection, "SELECT time_zone FROM insight_settings WHERE user_ref = (SELECT id FROM users WHERE user_id = $user)", ("$user", userId));
        return command.ExecuteScalar() as string;
    }, ct);

    public Task<bool> SetTimeZoneAsync(string userId, string? timeZoneId, CancellationToken ct) => _write.RunAsync(connection =>
    {
        using var command = timeZoneId is null
            ? Command(connection, "DELETE FROM insight_settings WHERE user_ref = (SELECT id FROM users WHERE user_id = $user)", ("$user", userId))
            : Command(
                connection,
                """
                INSERT INTO insight_settings (user_ref, time_zone) SELECT id, $zone FROM users WHERE user_id = $user
                ON CONFLICT (user_ref) DO UPDATE SET time_zone = excluded.time_zone
                """,
                ("$user", userId), ("$zone", timeZoneId));
        command.ExecuteNonQuery();
        using var known = Command(connection, "SELECT COUNT(*) FROM users WHERE user_id = $user", ("$user", userId));
        return (long)known.ExecuteScalar()! > 0;
    }, ct);

    public Task<PurgeResult> PurgeAsync(long beforeMs, int maxRows, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        return _write.RunAsync(connection =>
        {
            // The feed of each user loses these sequences: its floor moves past them, so a token from before answers
            // "expired" (a full re-read) instead of silently missing them.
            using (var floors = Command(
                connection,
                """
                UPDATE users SET change_floor = MAX(change_floor, purged.seq)
                FROM (SELECT user_ref, MAX(seq) AS seq FROM (
                          SELECT user_ref, seq FROM insights WHERE COALESCE(closed_ms, updated_ms) < $before
                          ORDER BY COALESCE(closed_ms, updated_ms) LIMIT $limit)
                      GROUP BY user_ref) AS purged
                WHERE users.id = purged.user_ref
                """,
                ("$before", beforeMs), ("$limit", maxRows)))
            {
                floors.ExecuteNonQuery();
            }

            using var delete = Command(
                connection,
                """
                DELETE FROM insights WHERE id IN (
                    SELECT id FROM insights WHERE COALESCE(closed_ms, updated_ms) < $before ORDER BY COALESCE(closed_ms, updated_ms) LIMIT $limit)
                """,
                ("$before", beforeMs), ("$limit", maxRows));
            var purged = delete.ExecuteNonQuery();
            return new PurgeResult(purged, purged == maxRows);
        }, ct);
    }

    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken ct) => Task.Run(
        () =>
        {
            using var connection = new SqliteConnection(_readConnectionString);
            connection.Open();
            return read(connection);
        },
        ct);

    private static List<InsightRecord> Many(SqliteConnection connection, string sql, params (string, object?)[] parameters)
    {
        using var command = Command(connection, sql, parameters);
        using var reader = command.ExecuteReader();
        var insights = new List<InsightRecord>();
        while (reader.Read())
        {
            insights.Add(InsightRows.Read(reader));
        }

        return insights;
    }

    /// <summary>The user's change counter inside one short write: read once, advanced per changed insight, stored at the end.</summary>
    private sealed class UserSequence
    {
        private readonly SqliteConnection _connection;
        private readonly long _userRef;
        private readonly long _start;

        private UserSequence(SqliteConnection connection, SqliteCommand select)
        {
            _connection = connection;
            using (select)
            using (var reader = select.ExecuteReader())
            {
                reader.Read();
                (_userRef, _start) = (reader.GetInt64(0), reader.GetInt64(1));
            }

            Current = _start;
        }

        public static UserSequence OfUser(SqliteConnection connection, long userRef) =>
            new(connection, Command(connection, "SELECT id, change_seq FROM users WHERE id = $user", ("$user", userRef)));

        public static UserSequence OfInsight(SqliteConnection connection, long insightRow) =>
            new(connection, Command(connection, "SELECT u.id, u.change_seq FROM users u JOIN insights i ON i.user_ref = u.id WHERE i.id = $row", ("$row", insightRow)));

        public long Current { get; private set; }

        public long Next() => ++Current;

        public void Store()
        {
            if (Current == _start)
            {
                return;
            }

            using var update = Command(_connection, "UPDATE users SET change_seq = $seq WHERE id = $user", ("$seq", Current), ("$user", _userRef));
            update.ExecuteNonQuery();
        }
    }

    /// <summary>One reconciliation of a user's open insights with the current findings, inside one short write.</summary>
    private sealed class Reconciliation(SqliteConnection connection, long nowMs)
    {
        public InsightReconciliation Run(string userId, IReadOnlyList<InsightFinding> findings)
        {
            using (var find = Command(connection, "SELECT id FROM users WHERE user_id = $user", ("$user", userId)))
            {
                if (find.ExecuteScalar() is not long userRef)
                {
                    return new InsightReconciliation(0, 0, 0, 0);
                }

                return Run(userRef, findings);
            }
        }

        private InsightReconciliation Run(long userRef, IReadOnlyList<InsightFinding> findings)
        {
            var open = Many(connection, $"SELECT {InsightRows.Columns} FROM insights WHERE user_ref = $user AND closed_ms IS NULL", ("$user", userRef));
            var writes = InsightRows.Plan(open, findings);
            var sequence = UserSequence.OfUser(connection, userRef);
            foreach (var write in writes)
            {
                switch (write.Kind)
                {
                    case InsightWriteKind.Raise:
                        Insert(userRef, write.Finding!, sequence.Next());
                        break;
                    case InsightWriteKind.Update:
                        Update(write, sequence.Next());
                        break;
                    default:
                        using (var close = Command(
                            connection, "UPDATE insights SET closed_ms = $now, updated_ms = $now, seq = $seq WHERE id = $row",
                            ("$now", nowMs), ("$seq", sequence.Next()), ("$row", write.Current!.Id)))
                        {
                            close.ExecuteNonQuery();
                        }

                        break;
                }
            }

            sequence.Store();
            return InsightRows.Outcome(writes, sequence.Current);
        }

        private void Insert(long userRef, InsightFinding finding, long seq)
        {
            using var insert = Command(
                connection,
                """
                INSERT INTO insights (insight_id, user_ref, kind, severity, direction, data_type, code, message, period_start_ms, period_end_ms,
                                      start_value, end_value, change, average, unit, days_with_data, seq, created_ms, updated_ms)
                VALUES ($id, $user, $kind, $severity, $direction, $type, $code, $message, $from, $to,
                        $startValue, $endValue, $change, $average, $unit, $days, $seq, $now, $now)
                """,
                [("$id", InsightRows.NewInsightId()), ("$user", userRef), ("$kind", (int)finding.Kind), .. FindingParameters(finding, seq)]);
            insert.ExecuteNonQuery();
        }

        private void Update(InsightWrite write, long seq)
        {
            using var update = Command(
                connection,
                """
                UPDATE insights SET severity = $severity, direction = $direction, data_type = $type, code = $code, message = $message,
                                    period_start_ms = $from, period_end_ms = $to, start_value = $startValue, end_value = $endValue,
                                    change = $change, average = $average, unit = $unit, days_with_data = $days, seq = $seq, updated_ms = $now,
                                    acknowledged_ms = CASE WHEN $reopen = 1 THEN NULL ELSE acknowledged_ms END
                WHERE id = $row
                """,
                [("$row", write.Current!.Id), ("$reopen", write.DropsAcknowledgement ? 1 : 0), .. FindingParameters(write.Finding!, seq)]);
            update.ExecuteNonQuery();
        }

        private (string, object?)[] FindingParameters(InsightFinding finding, long seq) =>
        [
            ("$severity", finding.Severity), ("$direction", finding.Direction), ("$type", finding.DataType), ("$code", finding.Code),
            ("$message", finding.Message), ("$from", finding.PeriodStartUnixMs), ("$to", finding.PeriodEndUnixMs),
            ("$startValue", finding.StartValue), ("$endValue", finding.EndValue), ("$change", finding.Change), ("$average", finding.Average),
            ("$unit", finding.Unit), ("$days", finding.DaysWithData), ("$seq", seq), ("$now", nowMs),
        ];
    }
}
