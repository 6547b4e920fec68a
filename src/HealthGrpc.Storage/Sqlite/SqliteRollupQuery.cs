using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteChangeReader;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// <see cref="IHealthStore.ReadRollupsAsync"/> computed on the fly: a GROUP BY over the raw samples table by
/// (bucket = start_ms / 900000 * 900000, source). Deleted and replaced samples are not in that table (the writer
/// removes their rows), so they count nowhere. A rollup table maintained by the ingest transaction gives the same rows
/// and replaces this query without a change to its callers.
/// </summary>
internal static class SqliteRollupQuery
{
    public const long BucketMs = 900_000;

    // FIRST_VALUE/LAST_VALUE over the (bucket, source) partition ordered by (start, uuid): the value of the earliest and
    // latest sample; constant within each group, so the GROUP BY may take them from any row.
    private const string Sql = """
        SELECT bucket, source_ref, SUM(quantity), COUNT(*), MIN(quantity), MAX(quantity),
               first_value, MIN(start_ms), last_value, MAX(start_ms)
        FROM (
            SELECT start_ms / 900000 * 900000 AS bucket, source_ref, start_ms, quantity,
                   FIRST_VALUE(quantity) OVER slot AS first_value,
                   LAST_VALUE(quantity) OVER slot AS last_value
            FROM samples
            WHERE user_ref = (SELECT id FROM users WHERE user_id = $u) AND type = $type AND quantity IS NOT NULL
                  AND start_ms >= $from AND start_ms < $to
            WINDOW slot AS (PARTITION BY start_ms / 900000, source_ref ORDER BY start_ms, uuid
                            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
        GROUP BY bucket, source_ref
        ORDER BY bucket, source_ref
        """;

    public static IReadOnlyList<RollupRecord> Read(
        SqliteConnection connection,
        string userId,
        int type,
        long fromUnixMs,
        long toUnixMs,
        ConcurrentDictionary<long, SourceRecord> sourceCache,
        ConcurrentDictionary<long, string> unitCache)
    {
        // A bucket starts in [from, to) exactly when its samples start in [ceil(from), ceil(to)) on the 15-minute grid.
        using var command = Command(connection, Sql, ("$u", userId), ("$type", type), ("$from", CeilToBucket(fromUnixMs)), ("$to", CeilToBucket(toUnixMs)));
        var lookup = new Lookups(connection, sourceCache, unitCache);
        var rollups = new List<RollupRecord>();
        using var r = command.ExecuteReader();
        while (r.Read())
        {
            rollups.Add(new RollupRecord(
                type,
                lookup.Source(r.GetInt64(1)),
                r.GetInt64(0),
                r.GetDouble(2),
                r.GetInt64(3),
                r.GetDouble(4),
                r.GetDouble(5),
                r.GetDouble(6),
                r.GetInt64(7),
                r.GetDouble(8),
                r.GetInt64(9)));
        }

        return rollups;
    }

    private static long CeilToBucket(long unixMs)
    {
        var floor = unixMs / BucketMs * BucketMs;
        return floor < unixMs ? floor + BucketMs : floor;
    }
}
