using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// Retention inside the writer's transaction: bounded purges of old raw items of one type (rollups untouched, the
/// users' change-feed floors moved) and bounded compaction of old stored acks. Each call is one work item of the
/// group commit, so it never holds the write lock for more than one bounded batch.
/// </summary>
internal sealed class RetentionPurger
{
    private readonly RetentionHorizons _horizons;
    private readonly SqliteCommand _users, _lastSampleStart, _deleteSamples, _deleteSeries, _deleteWaveforms, _raiseFloor;
    private readonly SqliteCommand _examineBatches, _compactAcks, _saveAckPosition;

    public RetentionPurger(WriterStatements statements, RetentionHorizons horizons)
    {
        _horizons = horizons;
        _users = statements.Prepare("SELECT id FROM users ORDER BY id");
        (string, SqliteType)[] range = [("$user", SqliteType.Integer), ("$type", SqliteType.Integer), ("$before", SqliteType.Integer), ("$limit", SqliteType.Integer)];
        // The start of the limit-th oldest sample: deleting up to it is one range scan of the time-clustered key (a
        // DELETE ... IN (SELECT ... LIMIT) would rescan the whole old range for every batch).
        _lastSampleStart = statements.Prepare(
            """
            SELECT start_ms FROM samples WHERE user_ref = $user AND type = $type AND start_ms < $before
            ORDER BY start_ms LIMIT 1 OFFSET $limit - 1
            """,
            range);
        _deleteSamples = statements.Prepare(
            "DELETE FROM samples WHERE user_ref = $user AND type = $type AND start_ms <= $last RETURNING seq",
            ("$user", SqliteType.Integer), ("$type", SqliteType.Integer), ("$last", SqliteType.Integer));
        // Series and waveforms have no time index (few, large rows): a scan of the user's rows of the type.
        _deleteSeries = statements.Prepare(
            """
            DELETE FROM series WHERE rowid IN (
                SELECT rowid FROM series WHERE user_ref = $user AND type = $type AND start_ms < $before LIMIT $limit)
            RETURNING seq
            """,
            range);
        _deleteWaveforms = statements.Prepare(
            """
            DELETE FROM waveforms WHERE rowid IN (
                SELECT rowid FROM waveforms WHERE user_ref = $user AND type = $type AND start_ms < $before LIMIT $limit)
            RETURNING seq
            """,
            range);
        _raiseFloor = statements.Prepare(
            "UPDATE users SET change_floor = MAX(change_floor, $floor) WHERE id = $user",
            ("$floor", SqliteType.Integer), ("$user", SqliteType.Integer));

        _examineBatches = statements.Prepare(
            """
            SELECT COUNT(*), MAX(id), MAX(commit_ms), MAX(CASE WHEN commit_ms < $before THEN id END)
            FROM (SELECT id, commit_ms FROM batches WHERE id > $after ORDER BY id LIMIT $limit)
            """,
            ("$after", SqliteType.Integer), ("$limit", SqliteType.Integer), ("$before", SqliteType.Integer));
        // The latest batch of each device epoch keeps its ack: that is the batch a client that lost its last ack replays.
        _compactAcks = statements.Prepare(
            """
            UPDATE batches SET ack = X''
            WHERE id > $after AND id <= $last AND commit_ms < $before AND length(ack) > 0
              AND batch_seq < (SELECT high_water_mark FROM device_epochs e WHERE e.device_ref = batches.device_ref AND e.epoch = batches.epoch)
            """,
            ("$after", SqliteType.Integer), ("$last", SqliteType.Integer), ("$before", SqliteType.Integer));
        // Saved in the compaction's own transaction: a restart continues exactly where the last committed step ended.
        _saveAckPosition = statements.Prepare(
            $"INSERT INTO retention_progress (task, position) VALUES ('{SqliteRetention.AckCompactionTask}', $position) ON CONFLICT (task) DO UPDATE SET position = excluded.position",
            ("$position", SqliteType.Integer));
    }

    public PurgeResult Purge(int type, long beforeMs, int maxRows)
    {
        _horizons.Raise(type, beforeMs);
        var users = new List<long>();
        using (var reader = _users.ExecuteReader())
        {
            while (reader.Read())
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

            var floor = 0L;
            _lastSampleStart.Bind("$user", user);
            _lastSampleStart.Bind("$type", type);
            _lastSampleStart.Bind("$before", beforeMs);
            _lastSampleStart.Bind("$limit", remaining);
            var last = _lastSampleStart.ExecuteScalar() is long boundary ? boundary : beforeMs - 1;
            _deleteSamples.Bind("$user", user);
            _deleteSamples.Bind("$type", type);
            _deleteSamples.Bind("$last", last);
            purged += Delete(_deleteSamples, ref floor);
            foreach (var delete in (ReadOnlySpan<SqliteCommand>)[_deleteSeries, _deleteWaveforms])
            {
                delete.Bind("$user", user);
                delete.Bind("$type", type);
                delete.Bind("$before", beforeMs);
                delete.Bind("$limit", Math.Max(1, maxRows - purged));
                purged += Delete(delete, ref floor);
            }

            if (floor > 0)
            {
                _raiseFloor.Bind("$floor", floor);
                _raiseFloor.Bind("$user", user);
                _raiseFloor.ExecuteNonQuery();
            }
        }

        return new PurgeResult(purged, More: purged >= maxRows);
    }

    public AckCompaction CompactAcks(long beforeMs, long afterPosition, int maxRows)
    {
        _examineBatches.Bind("$after", afterPosition);
        _examineBatches.Bind("$limit", maxRows);
        _examineBatches.Bind("$before", beforeMs);
        long examined, newestCommit, lastOld;
        using (var reader = _examineBatches.ExecuteReader())
        {
            reader.Read();
            examined = reader.GetInt64(0);
            if (examined == 0)
            {
                return new AckCompaction(0, afterPosition, Done: true);
            }

            newestCommit = reader.GetInt64(2);
            lastOld = reader.IsDBNull(3) ? afterPosition : reader.GetInt64(3);
        }

        // Batch ids grow with commit time (one writer), so the old batches examined are a prefix of them: the position
        // stops at the last old one, and a batch still too young is examined again by a later sweep, when it is old.
        _compactAcks.Bind("$after", afterPosition);
        _compactAcks.Bind("$last", lastOld);
        _compactAcks.Bind("$before", beforeMs);
        var compacted = _compactAcks.ExecuteNonQuery();
        _saveAckPosition.Bind("$position", lastOld);
        _saveAckPosition.ExecuteNonQuery();
        return new AckCompaction(compacted, lastOld, Done: examined < maxRows || newestCommit >= beforeMs);
    }

    private static int Delete(SqliteCommand delete, ref long floor)
    {
        var deleted = 0;
        using var reader = delete.ExecuteReader();
        while (reader.Read())
        {
            floor = Math.Max(floor, reader.GetInt64(0));
            deleted++;
        }

        return deleted;
    }
}
