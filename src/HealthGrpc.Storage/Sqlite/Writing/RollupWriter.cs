using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// Keeps the 15-minute rollups of quantity samples and series points inside the writer's transaction. Stored values
/// are summed in memory per (type, source, bucket) and written as one upsert per bucket when the batch ends, so a
/// batch of 1 Hz heart rate costs a handful of statements, not one per sample or point. A removed sample or series
/// (tombstone, replaced sync_version) cannot be subtracted from a min/max, so its buckets are recomputed: the raw
/// samples by a range scan of the time-clustered samples key, then the points of the series that remain in them
/// (<see cref="SeriesRollups"/>).
/// </summary>
internal sealed class RollupWriter
{
    /// <summary>Adds a bucket's pending values to its stored rollup (also used by the migration that adds the stored series).</summary>
    public const string UpsertSql = """
        INSERT INTO rollups (user_ref, type, bucket_ms, source_ref, sum, count, min, max, first, first_ms, last, last_ms)
        VALUES ($user, $type, $bucket, $source, $sum, $count, $min, $max, $first, $firstMs, $last, $lastMs)
        ON CONFLICT (user_ref, type, bucket_ms, source_ref) DO UPDATE SET
            sum = sum + excluded.sum,
            count = count + excluded.count,
            min = MIN(min, excluded.min),
            max = MAX(max, excluded.max),
            first = CASE WHEN excluded.first_ms < first_ms THEN excluded.first ELSE first END,
            first_ms = MIN(first_ms, excluded.first_ms),
            last = CASE WHEN excluded.last_ms >= last_ms THEN excluded.last ELSE last END,
            last_ms = MAX(last_ms, excluded.last_ms)
        """;

    public static readonly (string, SqliteType)[] UpsertParameters =
    [
        ("$user", SqliteType.Integer), ("$type", SqliteType.Integer), ("$bucket", SqliteType.Integer),
        ("$source", SqliteType.Integer), ("$sum", SqliteType.Real), ("$count", SqliteType.Integer),
        ("$min", SqliteType.Real), ("$max", SqliteType.Real), ("$first", SqliteType.Real),
        ("$firstMs", SqliteType.Integer), ("$last", SqliteType.Real), ("$lastMs", SqliteType.Integer),
    ];

    private readonly Dictionary<BucketKey, BucketDelta> _pending = [];
    private readonly SqliteCommand _upsert, _deleteBucket, _recomputeBucket, _remainingSeries;
    private long _userRef;
    private BucketKey _lastKey;
    private BucketDelta? _last;

    public RollupWriter(WriterStatements statements)
    {
        _upsert = statements.Prepare(UpsertSql, UpsertParameters);
        (string, SqliteType)[] bucketKey =
        [
            ("$user", SqliteType.Integer), ("$type", SqliteType.Integer), ("$bucket", SqliteType.Integer), ("$source", SqliteType.Integer),
        ];
        _deleteBucket = statements.Prepare(
            "DELETE FROM rollups WHERE user_ref = $user AND type = $type AND bucket_ms = $bucket AND source_ref = $source",
            bucketKey);
        _recomputeBucket = statements.Prepare(
            $"""
            WITH bucket AS (
                SELECT start_ms, seq, quantity FROM samples
                WHERE user_ref = $user AND type = $type AND start_ms >= $bucket AND start_ms < $bucket + {BucketKey.Length}
                  AND source_ref = $source AND quantity IS NOT NULL)
            INSERT INTO rollups (user_ref, type, bucket_ms, source_ref, sum, count, min, max, first, first_ms, last, last_ms)
            SELECT * FROM (
                SELECT $user, $type, $bucket, $source, SUM(quantity), COUNT(*) AS n, MIN(quantity), MAX(quantity),
                       (SELECT quantity FROM bucket ORDER BY start_ms, seq LIMIT 1), MIN(start_ms),
                       (SELECT quantity FROM bucket ORDER BY start_ms DESC, seq DESC LIMIT 1), MAX(start_ms)
                FROM bucket)
            WHERE n > 0
            """,
            bucketKey);
        // Through the (user_ref, type, source_ref, end_ms) index of migration 17; in change order, as they were added.
        _remainingSeries = statements.Prepare(
            """
            SELECT payload FROM series
            WHERE user_ref = $user AND type = $type AND source_ref = $source AND end_ms >= $from AND start_ms < $to
            ORDER BY seq
            """,
            ("$user", SqliteType.Integer), ("$type", SqliteType.Integer), ("$source", SqliteType.Integer),
            ("$from", SqliteType.Integer), ("$to", SqliteType.Integer));
    }

    /// <summary>Starts the rollups of a batch of <paramref name="userRef"/> (drops what a failed batch left).</summary>
    public void BeginBatch(long userRef)
    {
        _pending.Clear();
        _last = null;
        _userRef = userRef;
    }

    /// <summary>Counts a newly stored quantity sample. Samples arrive in change-sequence order, so a tie on start keeps the first as first and makes the newest last.</summary>
    public void Add(int type, long sourceRef, long startMs, double value)
    {
        var key = BucketKey.Of(_userRef, type, sourceRef, startMs);
        if (_last is null || key != _lastKey)
        {
            if (!_pending.TryGetValue(key, out _last))
            {
                _last = new BucketDelta();
                _pending[key] = _last;
            }

            _lastKey = key;
        }

        _last.Add(startMs, value);
    }

    /// <summary>Counts every point of a newly stored series, each like a sample of its own.</summary>
    public void AddSeries(int type, long sourceRef, byte[] payload)
    {
        SeriesRollups.AddPoints(_pending, _userRef, type, sourceRef, payload);
    }

    /// <summary>A stored quantity sample was deleted: recomputes its bucket.</summary>
    public void Removed(int type, long sourceRef, long startMs)
        => Recompute(type, sourceRef, [BucketKey.Of(_userRef, type, sourceRef, startMs)]);

    /// <summary>A stored series was deleted: recomputes every bucket it had points in.</summary>
    public void RemovedSeries(int type, long sourceRef, byte[] payload)
        => Recompute(type, sourceRef, SeriesRollups.Buckets(_userRef, type, sourceRef, payload));

    /// <summary>Adds the pending sums to the stored rollups (end of batch, or before a recompute reads the table).</summary>
    public void Flush()
    {
        Upsert(_upsert, _pending);
        _pending.Clear();
        _last = null;
    }

    /// <summary>Adds every delta to its stored rollup through <paramref name="upsert"/> (prepared from <see cref="UpsertSql"/>).</summary>
    public static void Upsert(SqliteCommand upsert, Dictionary<BucketKey, BucketDelta> deltas)
    {
        var p = upsert.Parameters;
        foreach (var (key, bucket) in deltas)
        {
            p["$user"].Value = key.UserRef;
            p["$type"].Value = key.Type;
            p["$bucket"].Value = key.BucketMs;
            p["$source"].Value = key.SourceRef;
            p["$sum"].Value = bucket.Sum;
            p["$count"].Value = bucket.Count;
            p["$min"].Value = bucket.Min;
            p["$max"].Value = bucket.Max;
            p["$first"].Value = bucket.First;
            p["$firstMs"].Value = bucket.FirstMs;
            p["$last"].Value = bucket.Last;
            p["$lastMs"].Value = bucket.LastMs;
            upsert.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Writes what is pending, rebuilds <paramref name="buckets"/> (all of one type and source) from the raw samples,
    /// then adds back the points the remaining series have in them (pending until the next flush).
    /// </summary>
    private void Recompute(int type, long sourceRef, HashSet<BucketKey> buckets)
    {
        if (buckets.Count == 0)
        {
            return;
        }

        Flush();
        long from = long.MaxValue, to = long.MinValue;
        foreach (var bucket in buckets)
        {
            foreach (var command in (ReadOnlySpan<SqliteCommand>)[_deleteBucket, _recomputeBucket])
            {
                var p = command.Parameters;
                p["$user"].Value = _userRef;
                p["$type"].Value = type;
                p["$bucket"].Value = bucket.BucketMs;
                p["$source"].Value = sourceRef;
                command.ExecuteNonQuery();
            }

            from = Math.Min(from, bucket.BucketMs);
            to = Math.Max(to, bucket.BucketMs + BucketKey.Length);
        }

        var series = _remainingSeries.Parameters;
        series["$user"].Value = _userRef;
        series["$type"].Value = type;
        series["$source"].Value = sourceRef;
        series["$from"].Value = from;
        series["$to"].Value = to;
        using var remaining = _remainingSeries.ExecuteReader();
        while (remaining.Read())
        {
            SeriesRollups.AddPoints(_pending, _userRef, type, sourceRef, (byte[])remaining.GetValue(0), buckets);
        }
    }
}
