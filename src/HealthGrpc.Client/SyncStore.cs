using System.Globalization;
using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>Status of a queued batch in the local store. Acked batches are deleted in the ack's transaction.</summary>
public enum QueuedBatchStatus
{
    /// <summary>Waiting to be sent; no batch_seq yet.</summary>
    Pending = 0,

    /// <summary>A batch_seq is assigned (durably) and the batch was or is being sent; it is resent after a reconnect until acked.</summary>
    InFlight = 1,

    /// <summary>
    /// Quarantined: an item the server rejected (with its reason), an item too large for the server's limits, or a batch
    /// refused by a non-transient status more than <see cref="HealthSyncOptions.MaxNonTransientAttempts"/> times. Kept locally
    /// (see <see cref="HealthSyncClient.GetQuarantineAsync"/>) under <see cref="HealthSyncOptions.QuarantineRetention"/>, not
    /// counted against the queue bounds, and sent again only after <see cref="HealthSyncClient.RetryQuarantinedAsync"/>.
    /// </summary>
    Quarantined = 2,
}

/// <summary>A queued batch as the local store holds it.</summary>
/// <param name="Id">Local id (enqueue order).</param>
/// <param name="Tier">Its tier.</param>
/// <param name="Status">Its status.</param>
/// <param name="BatchSeq">The assigned batch_seq (InFlight only).</param>
/// <param name="Attempts">Failed send attempts so far.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="NextAttemptAt">Earliest time of the next attempt.</param>
/// <param name="SampleCount">Items (samples, deletions) it carries.</param>
/// <param name="Bytes">Encoded size.</param>
/// <param name="Anchors">The anchors it commits when acked.</param>
/// <param name="LastError">Why the last attempt failed, or the server's rejection.</param>
public sealed record QueuedBatchInfo(
    long Id,
    SyncTier Tier,
    QueuedBatchStatus Status,
    ulong? BatchSeq,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset NextAttemptAt,
    int SampleCount,
    int Bytes,
    IReadOnlyList<SourceAnchor> Anchors,
    string? LastError);

/// <summary>The committed anchor of one data type.</summary>
/// <param name="Type">The data type.</param>
/// <param name="VendorType">The vendor type (DATA_TYPE_VENDOR only).</param>
/// <param name="Anchor">The committed opaque anchor.</param>
/// <param name="CommittedAt">When it was committed locally.</param>
public sealed record CommittedAnchor(DataType Type, string VendorType, ByteString Anchor, DateTimeOffset CommittedAt);

internal sealed record DeviceRow(string DeviceId, ulong Epoch, bool Restored, ulong LastSeq);

internal sealed record OutgoingBatch(long Id, ulong Seq, SyncTier Tier, byte[] Payload, int SampleCount, bool Atomic);

/// <summary>What one dispatch produced: the batches to send now (in batch_seq order) and the items quarantined as too large.</summary>
internal sealed record DispatchResult(IReadOnlyList<OutgoingBatch> Batches, IReadOnlyList<QuarantinedBatch> Quarantined, IReadOnlyList<SourceAnchor> CommittedAnchors);

/// <summary>A queued batch (or a part of one) failed locally before sending: it cannot fit the server's limits.</summary>
internal sealed record QuarantinedBatch(long Id, SyncTier Tier, int Items, string Reason);

internal sealed record QueueCounts(long PendingBatches, long PendingSamples, long QuarantinedBatches, long QuarantinedSamples, long QueuedBytes, DateTimeOffset? OldestPending);

/// <summary>
/// The SDK's local SQLite database (WAL, synchronous=FULL): device identity, the durable batch queue and the anchors.
/// Every mutation is one transaction; one connection, serialized by a lock.
/// </summary>
internal sealed partial class SyncStore : IAsyncDisposable
{
    private readonly SqliteConnection _db;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly TimeProvider _clock;
    private readonly PayloadCipher _cipher;

    private SyncStore(SqliteConnection db, TimeProvider clock, PayloadCipher cipher)
    {
        _db = db;
        _clock = clock;
        _cipher = cipher;
    }

    /// <summary>True when the queued payloads are encrypted at rest.</summary>
    public bool EncryptsPayloads => _cipher.Encrypts;

    public string Path { get; private init; } = "";

    /// <summary>The connection (tests install SQLite hooks on it).</summary>
    internal SqliteConnection Connection => _db;

    public required QuarantinePolicy Quarantine { get; init; }

    public static async Task<SyncStore> OpenAsync(string path, TimeProvider clock, QuarantinePolicy quarantine, CancellationToken ct, IQueueKeyProvider? keys = null)
    {
        // Opening creates, migrates and checkpoints the file: disk writes, never on the caller's (UI) thread.
        await OffCallerThread.Hop();
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        OwnerOnlyFiles.Prepare(full);
        var cs = new SqliteConnectionStringBuilder { DataSource = full, Pooling = false, Mode = SqliteOpenMode.ReadWriteCreate }.ToString();
        var db = new SqliteConnection(cs);
        try
        {
            await db.OpenAsync(ct).ConfigureAwait(false);
            await ExecAsync(db, null, """
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous=FULL;
                PRAGMA busy_timeout=10000;
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS batches(
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  tier INTEGER NOT NULL,
                  status INTEGER NOT NULL,
                  seq INTEGER NULL,
                  atomic INTEGER NOT NULL,
                  attempts INTEGER NOT NULL DEFAULT 0,
                  next_attempt_ms INTEGER NOT NULL,
                  created_ms INTEGER NOT NULL,
                  sample_count INTEGER NOT NULL,
                  bytes INTEGER NOT NULL,
                  anchors BLOB NULL,
                  payload BLOB NOT NULL,
                  last_error TEXT NULL);
                CREATE INDEX IF NOT EXISTS ix_batches_dispatch ON batches(status, tier, id);
                CREATE UNIQUE INDEX IF NOT EXISTS ix_batches_seq ON batches(seq) WHERE seq IS NOT NULL;
                CREATE TABLE IF NOT EXISTS anchors(
                  type INTEGER NOT NULL,
                  vendor_type TEXT NOT NULL,
                  committed BLOB NULL,
                  committed_gen INTEGER NOT NULL DEFAULT 0,
                  committed_ms INTEGER NOT NULL DEFAULT 0,
                  enqueued BLOB NULL,
                  enqueued_gen INTEGER NOT NULL DEFAULT 0,
                  PRIMARY KEY(type, vendor_type));
                """, ct).ConfigureAwait(false);
            await SyncStoreSchema.MigrateAsync(db, ct).ConfigureAwait(false);
            var cipher = await PayloadEncryption.OpenAsync(db, full, keys, ct).ConfigureAwait(false);
            OwnerOnlyFiles.Restrict(full);
            return new SyncStore(db, clock, cipher) { Path = full, Quarantine = quarantine };
        }
        catch (Exception e)
        {
            await db.DisposeAsync().ConfigureAwait(false);
            if (StoreFailure.Is(e))
            {
                throw StoreFailure.Wrap(e, full);
            }

            throw;
        }
    }

    private long NowMs => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- device identity ----

    /// <summary>
    /// Binds an unbound store to <paramref name="accountId"/> (when given) and returns the account the store belongs to
    /// (null: unbound). A bound store is never rebound.
    /// </summary>
    public async Task<string?> BindAccountAsync(string? accountId, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            var meta = await ReadMetaAsync(ct, tx).ConfigureAwait(false);
            if (meta.TryGetValue("account_id", out var bound))
            {
                return bound;
            }

            if (accountId is not null)
            {
                await SetMetaAsync(tx, "account_id", accountId, ct).ConfigureAwait(false);
                tx.Commit();
            }

            return accountId;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The device row, or null when the store is new (never initialized).</summary>
    public async Task<DeviceRow?> GetDeviceAsync(CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            var meta = await ReadMetaAsync(ct).ConfigureAwait(false);
            if (!meta.TryGetValue("device_id", out var id))
            {
                return null;
            }

            return new DeviceRow(id, ulong.Parse(meta["epoch"], CultureInfo.InvariantCulture), meta["restored"] == "1", ulong.Parse(meta["last_seq"], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Initializes a new store: the device id, epoch 0 (decided by the restore step), not restored.</summary>
    public async Task<DeviceRow> InitializeDeviceAsync(string deviceId, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            var meta = await ReadMetaAsync(ct, tx).ConfigureAwait(false);
            if (!meta.TryGetValue("device_id", out var existing))
            {
                await SetMetaAsync(tx, "device_id", deviceId, ct).ConfigureAwait(false);
                await SetMetaAsync(tx, "epoch", "0", ct).ConfigureAwait(false);
                await SetMetaAsync(tx, "restored", "0", ct).ConfigureAwait(false);
                await SetMetaAsync(tx, "last_seq", "0", ct).ConfigureAwait(false);
                await SetMetaAsync(tx, "created_ms", NowMs.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                tx.Commit();
                return new DeviceRow(deviceId, 0, false, 0);
            }

            tx.Commit();
            return new DeviceRow(existing, ulong.Parse(meta["epoch"], CultureInfo.InvariantCulture), meta["restored"] == "1", ulong.Parse(meta["last_seq"], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Finishes the restore of a new store: the new epoch and the server's committed anchors, in one transaction. When
    /// there are anchors, the anchored batches collected before (read from the beginning, not yet sent: nothing is sent
    /// before the restore) are deleted with their read positions, so the next collect reads from the restored anchors.
    /// Returns how many items were deleted.
    /// </summary>
    public async Task<int> CompleteRestoreAsync(ulong epoch, IReadOnlyCollection<SourceAnchor> anchors, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            var now = NowMs;
            var dropped = 0;
            if (anchors.Count > 0)
            {
                using (var count = Command(tx, "SELECT COALESCE(SUM(sample_count),0) FROM batches WHERE status=0 AND anchor_gen IS NOT NULL"))
                {
                    dropped = (int)(long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                }

                await ExecAsync(_db, tx, "DELETE FROM batches WHERE status=0 AND anchor_gen IS NOT NULL", ct).ConfigureAwait(false);
                await ExecAsync(_db, tx, "DELETE FROM deferred_anchors", ct).ConfigureAwait(false);
                await ExecAsync(_db, tx, "UPDATE anchors SET enqueued=NULL, enqueued_gen=0", ct).ConfigureAwait(false);
            }

            foreach (var a in anchors)
            {
                await ExecAsync(_db, tx, """
                    INSERT INTO anchors(type, vendor_type, committed, committed_gen, committed_ms) VALUES($t, $v, $a, 0, $now)
                    ON CONFLICT(type, vendor_type) DO UPDATE SET committed=excluded.committed, committed_ms=excluded.committed_ms
                    WHERE anchors.committed_gen = 0
                    """, ct, ("$t", (long)a.Type), ("$v", a.VendorType), ("$a", a.Anchor.ToByteArray()), ("$now", now)).ConfigureAwait(false);
            }

            await SetMetaAsync(tx, "epoch", epoch.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
            await SetMetaAsync(tx, "last_seq", "0", ct).ConfigureAwait(false);
            await SetMetaAsync(tx, "restored", "1", ct).ConfigureAwait(false);
            tx.Commit();
            return dropped;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<string?> GetMetaAsync(string key, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            return (await ReadMetaAsync(ct).ConfigureAwait(false)).GetValueOrDefault(key);
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    // ---- queue ----

    /// <summary>
    /// Stores <paramref name="batches"/> in one transaction (all or nothing) and records the anchors they carry as the
    /// "enqueued" read position. Throws <see cref="QueueFullException"/> when the bounds would be exceeded.
    /// <paramref name="onCommitted"/> runs after the commit, still under the store lock (before any dispatch can see them);
    /// <paramref name="prepare"/> runs first inside the transaction (it may still change the batches, e.g. assign versions).
    /// </summary>
    public async Task<IReadOnlyList<long>> EnqueueAsync(
        IReadOnlyList<(Batch Batch, SyncTier Tier, int Items)> batches, long maxSamples, long maxBytes,
        Action<IReadOnlyList<long>>? onCommitted, CancellationToken ct, Func<SqliteTransaction, CancellationToken, Task>? prepare = null)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            if (prepare is not null)
            {
                await prepare(tx, ct).ConfigureAwait(false);
            }

            long queuedSamples = 0, queuedBytes = 0;
            using (var cmd = Command(tx, "SELECT COALESCE(SUM(sample_count),0), COALESCE(SUM(bytes),0) FROM batches WHERE status IN (0,1)"))
            using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                await r.ReadAsync(ct).ConfigureAwait(false);
                queuedSamples = r.GetInt64(0);
                queuedBytes = r.GetInt64(1);
            }

            var payloads = new List<byte[]>(batches.Count);
            long addSamples = 0, addBytes = 0;
            foreach (var (batch, _, items) in batches)
            {
                var bytes = batch.ToByteArray();
                payloads.Add(bytes);
                addSamples += items;
                addBytes += bytes.Length;
            }

            if (queuedSamples + addSamples > maxSamples || queuedBytes + addBytes > maxBytes)
            {
                throw new QueueFullException(
                    $"The sync queue is full: {queuedSamples} items / {queuedBytes} bytes queued, limits {maxSamples} items / {maxBytes} bytes; this enqueue adds {addSamples} items / {addBytes} bytes. Nothing was enqueued.")
                {
                    QueuedSamples = queuedSamples,
                    QueuedBytes = queuedBytes,
                    RequestedSamples = addSamples,
                    RequestedBytes = addBytes,
                };
            }

            var now = NowMs;
            var anchored = batches.Any(b => b.Batch.Anchors.Count > 0);
            var ids = new List<long>(batches.Count);
            using var insert = Command(tx, """
                INSERT INTO batches(tier, status, seq, atomic, attempts, next_attempt_ms, created_ms, sample_count, bytes, anchors, payload)
                VALUES($tier, 0, NULL, $atomic, 0, $now, $now, $count, $bytes, $anchors, $payload) RETURNING id
                """);
            var pTier = insert.Parameters.Add("$tier", SqliteType.Integer);
            var pAtomic = insert.Parameters.Add("$atomic", SqliteType.Integer);
            insert.Parameters.AddWithValue("$now", now);
            var pCount = insert.Parameters.Add("$count", SqliteType.Integer);
            var pBytes = insert.Parameters.Add("$bytes", SqliteType.Integer);
            var pAnchors = insert.Parameters.Add("$anchors", SqliteType.Blob);
            var pPayload = insert.Parameters.Add("$payload", SqliteType.Blob);
            for (var i = 0; i < batches.Count; i++)
            {
                var (batch, tier, items) = batches[i];
                pTier.Value = (long)tier;
                pAtomic.Value = batch.Atomic ? 1L : 0L;
                pCount.Value = (long)items;
                pBytes.Value = (long)payloads[i].Length;
                pAnchors.Value = batch.Anchors.Count > 0 ? AnchorsOnly(batch).ToByteArray() : DBNull.Value;
                pPayload.Value = _cipher.Seal(payloads[i]);
                var id = (long)(await insert.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                ids.Add(id);
                if (anchored)
                {
                    // Its place in the anchor order: an anchor commits only when every batch of its own enqueue (the data
                    // it covers) and of every earlier anchored enqueue is delivered or quarantined.
                    await ExecAsync(_db, tx, "UPDATE batches SET anchor_gen=id WHERE id=$id", ct, ("$id", id)).ConfigureAwait(false);
                }

                foreach (var a in batch.Anchors)
                {
                    await ExecAsync(_db, tx, """
                        INSERT INTO anchors(type, vendor_type, enqueued, enqueued_gen) VALUES($t, $v, $a, $gen)
                        ON CONFLICT(type, vendor_type) DO UPDATE SET enqueued=excluded.enqueued, enqueued_gen=excluded.enqueued_gen
                        WHERE anchors.enqueued_gen < excluded.enqueued_gen
                        """, ct, ("$t", (long)a.Type), ("$v", a.VendorType), ("$a", a.Anchor.ToByteArray()), ("$gen", id)).ConfigureAwait(false);
                }
            }

            tx.Commit();
            onCommitted?.Invoke(ids);
            return ids;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Batches with an assigned batch_seq, in seq order (to be resent after a reconnect).</summary>
    public async Task<IReadOnlyList<OutgoingBatch>> GetInFlightAsync(CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, "SELECT id, seq, tier, payload, sample_count, atomic FROM batches WHERE status=1 ORDER BY seq");
            return await ReadOutgoingAsync(cmd, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Dispatches the next pending batch (tier, then enqueue order) under the server's limits, in one transaction: assigns
    /// its batch_seq durably, after splitting it into parts of at most <paramref name="maxSamples"/> samples and
    /// <paramref name="maxBytes"/> bytes of encoded request when it is larger (the parts get consecutive batch_seqs; the
    /// anchors travel with the last part, which keeps the batch's id and so its place in the anchor order). An item too
    /// large to travel even alone is quarantined as a failed batch of its own with the reason (for an atomic batch: the
    /// whole batch). Null when none is pending.
    /// </summary>
    public async Task<DispatchResult?> AssignNextAsync(int maxSamples, int maxBytes, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            long id, tier, items, bytes;
            byte[] payload;
            using (var pick = Command(tx, "SELECT id, tier, sample_count, bytes, payload FROM batches WHERE status=0 ORDER BY tier, id LIMIT 1"))
            using (var r = await pick.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                if (!await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    return null;
                }

                (id, tier, items, bytes, payload) = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), _cipher.Open((byte[])r.GetValue(4)));
            }

            var meta = await ReadMetaAsync(ct, tx).ConfigureAwait(false);
            var seq = ulong.Parse(meta["last_seq"], CultureInfo.InvariantCulture);
            var quarantined = new List<QuarantinedBatch>();
            if (!BatchSplitter.SurelyFits((int)bytes, (int)items, maxSamples, maxBytes))
            {
                var split = BatchSplitter.Split(Batch.Parser.ParseFrom(payload), maxSamples, maxBytes);
                var batch = Batch.Parser.ParseFrom(payload);
                if (split.Chunks.Count == 0)
                {
                    // Nothing of it can travel: the whole batch is quarantined (its anchors commit once nothing before them waits).
                    var reason = split.Oversized[0].Reason + (split.Oversized.Count > 1 ? $" (and {split.Oversized.Count - 1} more such items)" : "");
                    var resolution = await QuarantineWholeAsync(tx, id, reason, ct).ConfigureAwait(false);
                    tx.Commit();
                    return new DispatchResult([], resolution.Quarantined, resolution.CommittedAnchors);
                }

                // An atomic batch keeps its valid items: only the unsendable ones are quarantined, the rest travels.

                foreach (var (item, reason) in split.Oversized)
                {
                    var newId = await InsertQuarantinedAsync(tx, id, item, reason, null, ct).ConfigureAwait(false);
                    quarantined.Add(new QuarantinedBatch(newId, (SyncTier)tier, BatchSplitter.CountItems(item), reason));
                }

                if (split.Chunks.Count > 1 || split.Oversized.Count > 0)
                {
                    var dispatched = new List<OutgoingBatch>(split.Chunks.Count);
                    for (var i = 0; i < split.Chunks.Count - 1; i++)
                    {
                        seq++;
                        var newId = await InsertDerivedAsync(tx, id, QueuedBatchStatus.InFlight, seq, split.Chunks[i], null, ct).ConfigureAwait(false);
                        dispatched.Add(new OutgoingBatch(newId, seq, (SyncTier)tier, split.Chunks[i].ToByteArray(), BatchSplitter.CountItems(split.Chunks[i]), batch.Atomic));
                    }

                    var last = split.Chunks[^1];
                    var lastBytes = last.ToByteArray();
                    seq++;
                    await ExecAsync(_db, tx, "UPDATE batches SET status=1, seq=$seq, payload=$p, bytes=$b, sample_count=$c WHERE id=$id", ct,
                        ("$seq", (long)seq), ("$p", _cipher.Seal(lastBytes)), ("$b", (long)lastBytes.Length), ("$c", (long)BatchSplitter.CountItems(last)), ("$id", id)).ConfigureAwait(false);
                    dispatched.Add(new OutgoingBatch(id, seq, (SyncTier)tier, lastBytes, BatchSplitter.CountItems(last), batch.Atomic));
                    await SetMetaAsync(tx, "last_seq", seq.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                    tx.Commit();
                    return new DispatchResult(dispatched, quarantined, []);
                }
            }

            seq++;
            await SetMetaAsync(tx, "last_seq", seq.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
            await ExecAsync(_db, tx, "UPDATE batches SET status=1, seq=$seq WHERE id=$id", ct, ("$seq", (long)seq), ("$id", id)).ConfigureAwait(false);
            using var read = Command(tx, "SELECT id, seq, tier, payload, sample_count, atomic FROM batches WHERE id=$id");
            read.Parameters.AddWithValue("$id", id);
            var result = (await ReadOutgoingAsync(read, ct).ConfigureAwait(false))[0];
            tx.Commit();
            return new DispatchResult([result], quarantined, []);
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Inserts a part of batch <paramref name="originalId"/> (same tier, atomicity, age and place in the anchor order; no anchors).</summary>
    private async Task<long> InsertDerivedAsync(SqliteTransaction tx, long originalId, QueuedBatchStatus status, ulong? seq, Batch part, string? error, CancellationToken ct)
    {
        var bytes = part.ToByteArray();
        using var cmd = Command(tx, """
            INSERT INTO batches(tier, status, seq, atomic, attempts, next_attempt_ms, created_ms, sample_count, bytes, anchors, payload, last_error, anchor_gen)
            SELECT tier, $status, $seq, atomic, 0, next_attempt_ms, created_ms, $count, $bytes, NULL, $payload, $error, anchor_gen FROM batches WHERE id=$orig
            RETURNING id
            """);
        cmd.Parameters.AddWithValue("$status", (long)status);
        cmd.Parameters.AddWithValue("$seq", seq is { } s ? (long)s : DBNull.Value);
        cmd.Parameters.AddWithValue("$count", (long)BatchSplitter.CountItems(part));
        cmd.Parameters.AddWithValue("$bytes", (long)bytes.Length);
        cmd.Parameters.AddWithValue("$payload", _cipher.Seal(bytes));
        cmd.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$orig", originalId);
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Aligns the local numbering with the server's high-water mark <paramref name="hwm"/> of our epoch: in-flight batches
    /// with seq &lt;= hwm were committed (they are resent to get their original ack, flagged duplicate); the others were not,
    /// and are renumbered contiguously from hwm + 1 in their current order. Returns how many were renumbered.
    /// </summary>
    public async Task<int> RenumberAsync(ulong hwm, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            var above = new List<(long Id, long Seq)>();
            using (var cmd = Command(tx, "SELECT id, seq FROM batches WHERE status=1 AND seq > $hwm ORDER BY seq"))
            {
                cmd.Parameters.AddWithValue("$hwm", (long)hwm);
                using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    above.Add((r.GetInt64(0), r.GetInt64(1)));
                }
            }

            var next = (long)hwm;
            var renumbered = 0;
            foreach (var (id, seq) in above)
            {
                next++;
                if (seq != next)
                {
                    await ExecAsync(_db, tx, "UPDATE batches SET seq=$seq WHERE id=$id", ct, ("$seq", next), ("$id", id)).ConfigureAwait(false);
                    renumbered++;
                }
            }

            var meta = await ReadMetaAsync(ct, tx).ConfigureAwait(false);
            var maxAssigned = Math.Max(next, (long)hwm);
            if (ulong.Parse(meta["last_seq"], CultureInfo.InvariantCulture) != (ulong)maxAssigned)
            {
                await SetMetaAsync(tx, "last_seq", maxAssigned.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
            }

            tx.Commit();
            return renumbered;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Records a failed attempt of the given batches.</summary>
    public async Task RecordAttemptFailureAsync(IReadOnlyCollection<long> ids, string error, DateTimeOffset nextAttempt, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            foreach (var id in ids)
            {
                await ExecAsync(_db, tx, "UPDATE batches SET attempts=attempts+1, last_error=$e WHERE id=$id", ct, ("$e", error), ("$id", id)).ConfigureAwait(false);
            }

            await ExecAsync(_db, tx, "UPDATE batches SET next_attempt_ms=$n WHERE status IN (0,1)", ct, ("$n", nextAttempt.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            tx.Commit();
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Moves every quarantined batch back to pending (not atomic any more only if it was not). Returns how many.</summary>
    public async Task<int> RetryQuarantinedAsync(CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            return await ExecAsync(_db, null, "UPDATE batches SET status=0, seq=NULL, attempts=0, hard_failures=0, quarantined_ms=NULL, reject_reason=NULL, next_attempt_ms=$n WHERE status=2", ct, ("$n", NowMs)).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<IReadOnlyList<QueuedBatchInfo>> ListAsync(QueuedBatchStatus? status, int limit, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, status is null
                ? "SELECT id, tier, status, seq, attempts, created_ms, next_attempt_ms, sample_count, bytes, anchors, last_error FROM batches ORDER BY status, tier, id LIMIT $limit"
                : "SELECT id, tier, status, seq, attempts, created_ms, next_attempt_ms, sample_count, bytes, anchors, last_error FROM batches WHERE status=$s ORDER BY tier, id LIMIT $limit");
            cmd.Parameters.AddWithValue("$limit", (long)limit);
            if (status is not null)
            {
                cmd.Parameters.AddWithValue("$s", (long)status.Value);
            }

            var list = new List<QueuedBatchInfo>();
            using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                IReadOnlyList<SourceAnchor> anchors = r.IsDBNull(9) ? [] : [.. Batch.Parser.ParseFrom((byte[])r.GetValue(9)).Anchors];
                list.Add(new QueuedBatchInfo(
                    r.GetInt64(0), (SyncTier)r.GetInt64(1), (QueuedBatchStatus)r.GetInt64(2), r.IsDBNull(3) ? null : (ulong)r.GetInt64(3),
                    r.GetInt32(4), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
                    r.GetInt32(7), r.GetInt32(8), anchors, r.IsDBNull(10) ? null : r.GetString(10)));
            }

            return list;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The payload of a batch (for inspection of poison batches).</summary>
    public async Task<Batch?> GetBatchAsync(long id, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, "SELECT payload FROM batches WHERE id=$id");
            cmd.Parameters.AddWithValue("$id", id);
            return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is byte[] bytes ? Batch.Parser.ParseFrom(_cipher.Open(bytes)) : null;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<QueueCounts> GetCountsAsync(CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, """
                SELECT
                  COALESCE(SUM(CASE WHEN status IN (0,1) THEN 1 ELSE 0 END),0),
                  COALESCE(SUM(CASE WHEN status IN (0,1) THEN sample_count ELSE 0 END),0),
                  COALESCE(SUM(CASE WHEN status=2 THEN 1 ELSE 0 END),0),
                  COALESCE(SUM(CASE WHEN status=2 THEN sample_count ELSE 0 END),0),
                  COALESCE(SUM(CASE WHEN status IN (0,1) THEN bytes ELSE 0 END),0),
                  MIN(CASE WHEN status IN (0,1) THEN created_ms END)
                FROM batches
                """);
            using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await r.ReadAsync(ct).ConfigureAwait(false);
            return new QueueCounts(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4),
                r.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)));
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Committed anchors per type.</summary>
    public async Task<IReadOnlyList<CommittedAnchor>> GetCommittedAnchorsAsync(CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, "SELECT type, vendor_type, committed, committed_ms FROM anchors WHERE committed IS NOT NULL ORDER BY type, vendor_type");
            var list = new List<CommittedAnchor>();
            using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(new CommittedAnchor((DataType)r.GetInt64(0), r.GetString(1), ByteString.CopyFrom((byte[])r.GetValue(2)),
                    DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))));
            }

            return list;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Where to read a source from: the anchor of the newest enqueued batch for the type, else the committed one, else empty.</summary>
    public async Task<ByteString> GetReadAnchorAsync(DataType type, string vendorType, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, "SELECT COALESCE(enqueued, committed) FROM anchors WHERE type=$t AND vendor_type=$v");
            cmd.Parameters.AddWithValue("$t", (long)type);
            cmd.Parameters.AddWithValue("$v", vendorType);
            return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is byte[] bytes ? ByteString.CopyFrom(bytes) : ByteString.Empty;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Runs PRAGMA integrity_check and returns its answer ("ok" when healthy).</summary>
    public async Task<string> IntegrityCheckAsync(CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, "PRAGMA integrity_check");
            return (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await EnterAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _db.DisposeAsync().ConfigureAwait(false);
            _cipher.Dispose();
        }
        finally
        {
            _lock.Release();
            _lock.Dispose();
        }
    }

    // ---- helpers ----

    /// <summary>
    /// Leaves the caller's thread (a UI thread must never wait for an fsync: Microsoft.Data.Sqlite's async methods run
    /// synchronously), then takes the store lock. Every store operation starts here.
    /// </summary>
    private async Task EnterAsync(CancellationToken ct)
    {
        await OffCallerThread.Hop();
        await _lock.WaitAsync(ct).ConfigureAwait(false);
    }

    private static Batch AnchorsOnly(Batch batch)
    {
        var b = new Batch();
        b.Anchors.Add(batch.Anchors);
        return b;
    }

    private SqliteCommand Command(SqliteTransaction? tx, string sql)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private static async Task<int> ExecAsync(SqliteConnection db, SqliteTransaction? tx, string sql, CancellationToken ct, params (string Name, object Value)[] args)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task<Dictionary<string, string>> ReadMetaAsync(CancellationToken ct, SqliteTransaction? tx = null)
    {
        using var cmd = Command(tx, "SELECT key, value FROM meta");
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            meta[r.GetString(0)] = r.GetString(1);
        }

        return meta;
    }

    private Task<int> SetMetaAsync(SqliteTransaction? tx, string key, string value, CancellationToken ct) =>
        ExecAsync(_db, tx, "INSERT INTO meta(key, value) VALUES($k, $v) ON CONFLICT(key) DO UPDATE SET value=excluded.value", ct, ("$k", key), ("$v", value));

    private async Task<IReadOnlyList<OutgoingBatch>> ReadOutgoingAsync(SqliteCommand cmd, CancellationToken ct)
    {
        var list = new List<OutgoingBatch>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new OutgoingBatch(r.GetInt64(0), (ulong)r.GetInt64(1), (SyncTier)r.GetInt64(2), _cipher.Open((byte[])r.GetValue(3)), r.GetInt32(4), r.GetInt64(5) != 0));
        }

        return list;
    }
}
