using HealthGrpc.Storage.Sqlite.Writing;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// The single writer connection and what it does inside a group's transaction, used only by the commit loop's thread
/// (<see cref="SqliteCommitLoop"/>). Each concern lives in its own part: ids (<see cref="WriterIds"/>), the per-device
/// exactly-once ledger and stored acks (<see cref="DeviceLedger"/>), the appliers of samples and tombstones, series and
/// waveforms, and records, the rollups (<see cref="RollupWriter"/>) and retention (<see cref="RetentionPurger"/>); <see cref="BatchScope"/> is the batch they
/// share, with its change-sequence counter.
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly WriterStatements _statements;
    private readonly BatchScope _scope = new();
    private readonly SqliteCommand _begin, _commit, _rollback;
    private readonly SqliteCommand _selectUserSeq, _updateUserSeq, _insertToken, _touchHealthProbe;
    private readonly WriterIds _ids;
    private readonly DeviceLedger _devices;
    private readonly RollupWriter _rollups;
    private readonly SampleApplier _samples;
    private readonly PayloadItemApplier _payloadItems;
    private readonly RecordApplier _records;
    private readonly RetentionHorizons _horizons;
    private readonly RetentionPurger _retention;

    public SqliteWriter(string path, SqliteStoreOptions options)
    {
        _connection = SqliteSchema.OpenWriter(path, options.BusyTimeout, options.WriterCacheKiB);
        _statements = new WriterStatements(_connection);
        try
        {
            SqliteSchema.Migrate(_connection);
            _begin = _statements.Prepare("BEGIN IMMEDIATE");
            _commit = _statements.Prepare("COMMIT");
            _rollback = _statements.Prepare("ROLLBACK");
            _selectUserSeq = _statements.Prepare("SELECT change_seq FROM users WHERE id = $user", ("$user", SqliteType.Integer));
            _updateUserSeq = _statements.Prepare(
                "UPDATE users SET change_seq = $seq WHERE id = $user", ("$seq", SqliteType.Integer), ("$user", SqliteType.Integer));
            _insertToken = _statements.Prepare(
                "INSERT INTO tokens (token_hash, user_ref, created_ms) VALUES ($hash, $user, $now) ON CONFLICT (token_hash) DO NOTHING",
                ("$hash", SqliteType.Blob), ("$user", SqliteType.Integer), ("$now", SqliteType.Integer));
            _touchHealthProbe = _statements.Prepare(
                "INSERT INTO health_probe (id, probed_ms) VALUES (1, $now) ON CONFLICT (id) DO UPDATE SET probed_ms = excluded.probed_ms",
                ("$now", SqliteType.Integer));
            _ids = new WriterIds(_statements);
            _devices = new DeviceLedger(_statements);
            _rollups = new RollupWriter(_statements);
            _horizons = new RetentionHorizons(_statements);
            _samples = new SampleApplier(_statements, _scope, _ids, _rollups, _horizons);
            _payloadItems = new PayloadItemApplier(_statements, _scope, _ids, _samples, _rollups, _horizons);
            _records = new RecordApplier(_statements, _scope);
            _retention = new RetentionPurger(_statements, _horizons);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _statements.Dispose();
        _connection.Dispose();
    }

    // ---- transaction control -------------------------------------------------------------------------------------

    public void Begin() => _begin.ExecuteNonQuery();

    public void Commit()
    {
        _commit.ExecuteNonQuery();
        _ids.Promote();
        _horizons.Promote();
    }

    /// <summary>Rolls the open transaction back (if any) and forgets ids created in it.</summary>
    public void Rollback()
    {
        _ids.DropPending();
        _horizons.DropPending();
        if (!_connection.Handle!.IsInvalid && SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0)
        {
            _rollback.ExecuteNonQuery();
        }
    }

    // ---- users, tokens, health probe -----------------------------------------------------------------------------

    public long EnsureUser(string userId, long nowMs) => _ids.EnsureUser(userId, nowMs);

    public void AddToken(string userId, byte[] tokenHash, long nowMs)
    {
        var userRef = _ids.EnsureUser(userId, nowMs);
        _insertToken.Bind("$hash", tokenHash);
        _insertToken.Bind("$user", userRef);
        _insertToken.Bind("$now", nowMs);
        _insertToken.ExecuteNonQuery();
    }

    public void TouchHealthProbe(long nowMs)
    {
        _touchHealthProbe.Bind("$now", nowMs);
        _touchHealthProbe.ExecuteNonQuery();
    }

    // ---- retention (bounded batches, one work item each) -------------------------------------------------------

    public PurgeResult Purge(int type, long beforeMs, int maxRows) => _retention.Purge(type, beforeMs, maxRows);

    public AckCompaction CompactAcks(long beforeMs, long afterPosition, int maxRows) => _retention.CompactAcks(beforeMs, afterPosition, maxRows);

    // ---- batches -------------------------------------------------------------------------------------------------

    /// <summary>Evaluates and (when in sequence) applies one batch inside the open transaction.</summary>
    public CommitOutcome ApplyBatch(IngestBatch batch, DateTimeOffset commitTime)
    {
        var nowMs = commitTime.ToUnixTimeMilliseconds();
        var userRef = _ids.EnsureUser(batch.UserId, nowMs);
        if (_devices.Evaluate(batch, userRef, out var knownDevice, out var newestEpoch) is { } refused)
        {
            return refused;
        }

        var deviceRef = _devices.Advance(batch, userRef, knownDevice, newestEpoch, nowMs);
        _selectUserSeq.Bind("$user", userRef);
        var startSeq = (long)_selectUserSeq.ExecuteScalar()!;
        var scope = _scope;
        scope.Begin(userRef, deviceRef, startSeq);

        var rejectedAtomic = batch.Atomic && batch.RejectedCount > 0;
        if (!rejectedAtomic)
        {
            _rollups.BeginBatch(userRef);
            _samples.LoadTombstoneState();
            // Deletions first: a batch deleting and re-sending a uuid ends with the tombstone winning.
            _samples.ApplyDeletions(batch.Deletions);
            _samples.ApplySamples(batch.Samples);
            _payloadItems.ApplySeries(batch.Series);
            _payloadItems.ApplyWaveforms(batch.Waveforms);
            _records.Apply(batch.Records);
            _rollups.Flush();
            _devices.StoreAnchors(batch, deviceRef);
        }

        if (scope.Sequence != startSeq)
        {
            _updateUserSeq.Bind("$seq", scope.Sequence);
            _updateUserSeq.Bind("$user", userRef);
            _updateUserSeq.ExecuteNonQuery();
        }

        var result = new CommitResult(
            batch.BatchSeq,
            rejectedAtomic,
            scope.Accepted,
            scope.Duplicates,
            scope.Replaced,
            scope.IgnoredDeleted,
            batch.RejectedCount,
            rejectedAtomic ? [] : batch.Anchors,
            batch.BatchSeq,
            commitTime,
            scope.Sequence);
        var ackBytes = batch.EncodeAck(result) ?? throw new InvalidOperationException("EncodeAck returned null.");
        _devices.StoreBatch(batch, scope, rejectedAtomic, nowMs, ackBytes);
        return new CommitOutcome.Committed(result, ackBytes);
    }
}
