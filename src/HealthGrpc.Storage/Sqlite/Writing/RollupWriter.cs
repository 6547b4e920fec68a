using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// Keeps the 15-minute rollups of quantity samples inside the writer's transaction. Stored samples are summed in
/// memory per (type, source, bucket) and written as one upsert per bucket when the batch ends, so a batch of 1 Hz heart
/// rate costs a handful of statements, not one per sample. A removed sample (tombstone, replaced sync_version) cannot
/// be subtracted from a min/max, so its bucket is recomputed from the raw samples: one bucket, a range scan of the
/// time-clustered samples key.
/// </summary>
internal sealed class RollupWriter
{
    /// <summary>Bucket length: every real zone offset is a multiple of 15 minutes, so local hours and days are exact unions of buckets.</summary>
    public const long BucketMs = 15 * 60 * 1000;

    private readonly Dictionary<(int Type, long SourceRef, long BucketStart), Bucket> _pending = [];
    private readonly SqliteCommand _upsert, _deleteBucket, _recomputeBucket;
    private long _userRef;
    private (int Type, long SourceRef, long BucketStart) _lastKey;
    private Bucket? _last;

    public RollupWriter(WriterStatements statements)
    {
        _upsert = statements.Prepare(
            """
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
            """,
            [
                ("$user", SqliteType.Integer), ("$type", SqliteType.Integer), ("$bucket", SqliteType.Integer),
                ("$source", SqliteType.Integer), ("$sum", SqliteType.Real), ("$count", SqliteType.Integer),
                ("$min", SqliteType.Real), ("$max", SqliteType.Real), ("$first", SqliteType.Real),
                ("$firstMs", SqliteType.Integer), ("$last", SqliteType.Real), ("$lastMs", SqliteType.Integer),
            ]);
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
                WHERE user_ref = $user AND type = $type AND start_ms >= $bucket AND start_ms < $bucket + {BucketMs}
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
    }

    /// <summary>The UTC start of the bucket holding <paramref name="startMs"/> (floor, also before 1970).</summary>
    public static long BucketStart(long startMs) => startMs - ((startMs % BucketMs) + BucketMs) % BucketMs;

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
        var key = (type, sourceRef, BucketStart(startMs));
        if (_last is null || key != _lastKey)
        {
            if (!_pending.TryGetValue(key, out _last))
            {
                _last = new Bucket { Min = value, Max = value, First = value, FirstMs = startMs, Last = value, LastMs = startMs };
                _pending[key] = _last;
            }

            _lastKey = key;
        }

        var bucket = _last;
        bucket.Sum += value;
        bucket.Count++;
        bucket.Min = Math.Min(bucket.Min, value);
        bucket.Max = Math.Max(bucket.Max, value);
        if (startMs < bucket.FirstMs)
        {
            bucket.First = value;
            bucket.FirstMs = startMs;
        }

        if (startMs >= bucket.LastMs)
        {
            bucket.Last = value;
            bucket.LastMs = startMs;
        }
    }

    /// <summary>A stored quantity sample was deleted: writes what is pending, then recomputes its bucket from the raw samples.</summary>
    public void Removed(int type, long sourceRef, long startMs)
    {
        Flush();
        foreach (var command in (ReadOnlySpan<SqliteCommand>)[_deleteBucket, _recomputeBucket])
        {
            var p = command.Parameters;
            p["$user"].Value = _userRef;
            p["$type"].Value = type;
            p["$bucket"].Value = BucketStart(startMs);
            p["$source"].Value = sourceRef;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Adds the pending sums to the stored rollups (end of batch, or before a recompute reads the table).</summary>
    public void Flush()
    {
        var p = _upsert.Parameters;
        foreach (var ((type, sourceRef, bucketStart), bucket) in _pending)
        {
            p["$user"].Value = _userRef;
            p["$type"].Value = type;
            p["$bucket"].Value = bucketStart;
            p["$source"].Value = sourceRef;
            p["$sum"].Value = bucket.Sum;
            p["$count"].Value = bucket.Count;
            p["$min"].Value = bucket.Min;
            p["$max"].Value = bucket.Max;
            p["$first"].Value = bucket.First;
            p["$firstMs"].Value = bucket.FirstMs;
            p["$last"].Value = bucket.Last;
            p["$lastMs"].Value = bucket.LastMs;
            _upsert.ExecuteNonQuery();
        }

        _pending.Clear();
        _last = null;
    }

    private sealed class Bucket
    {
        public double Sum;
        public long Count;
        public double Min;
        public double Max;
        public double First;
        public long FirstMs;
        public double Last;
        public long LastMs;
    }
}
