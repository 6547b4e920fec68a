using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>The rollup statements shared by the group writer and the migration that adds the stored series.</summary>
internal static class PgRollupWrites
{
    /// <summary>Adds every delta to its stored rollup: one upsert over arrays.</summary>
    public static NpgsqlBatchCommand Upsert(Dictionary<BucketKey, BucketDelta> deltas)
    {
        var rows = deltas.ToList();
        return Command(
            """
            INSERT INTO rollups (user_ref, type, bucket_ms, source_ref, sum, count, min, max, first, first_ms, last, last_ms)
            SELECT * FROM unnest(@users, @types, @buckets, @sources, @sums, @counts, @mins, @maxes, @firsts, @firstMs, @lasts, @lastMs)
            ON CONFLICT (user_ref, type, bucket_ms, source_ref) DO UPDATE SET
                sum = rollups.sum + excluded.sum,
                count = rollups.count + excluded.count,
                min = LEAST(rollups.min, excluded.min),
                max = GREATEST(rollups.max, excluded.max),
                first = CASE WHEN excluded.first_ms < rollups.first_ms THEN excluded.first ELSE rollups.first END,
                first_ms = LEAST(rollups.first_ms, excluded.first_ms),
                last = CASE WHEN excluded.last_ms >= rollups.last_ms THEN excluded.last ELSE rollups.last END,
                last_ms = GREATEST(rollups.last_ms, excluded.last_ms)
            """,
            Array("users", NpgsqlDbType.Bigint, rows.Select(d => d.Key.UserRef).ToArray()),
            Array("types", NpgsqlDbType.Integer, rows.Select(d => d.Key.Type).ToArray()),
            Array("buckets", NpgsqlDbType.Bigint, rows.Select(d => d.Key.BucketMs).ToArray()),
            Array("sources", NpgsqlDbType.Bigint, rows.Select(d => d.Key.SourceRef).ToArray()),
            Array("sums", NpgsqlDbType.Double, rows.Select(d => d.Value.Sum).ToArray()),
            Array("counts", NpgsqlDbType.Bigint, rows.Select(d => d.Value.Count).ToArray()),
            Array("mins", NpgsqlDbType.Double, rows.Select(d => d.Value.Min).ToArray()),
            Array("maxes", NpgsqlDbType.Double, rows.Select(d => d.Value.Max).ToArray()),
            Array("firsts", NpgsqlDbType.Double, rows.Select(d => d.Value.First).ToArray()),
            Array("firstMs", NpgsqlDbType.Bigint, rows.Select(d => d.Value.FirstMs).ToArray()),
            Array("lasts", NpgsqlDbType.Double, rows.Select(d => d.Value.Last).ToArray()),
            Array("lastMs", NpgsqlDbType.Bigint, rows.Select(d => d.Value.LastMs).ToArray()));
    }

    /// <summary>
    /// The stored series with points in <paramref name="buckets"/> (read after the group's deletions, before its inserts,
    /// in change order): one time range per user, type and source, through the (user_ref, type, source_ref, end_ms) index.
    /// </summary>
    public static async Task<IReadOnlyList<StoredSeriesPayload>> ReadRemainingSeriesAsync(
        NpgsqlConnection connection, IReadOnlyCollection<BucketKey> buckets, CancellationToken ct)
    {
        if (buckets.Count == 0)
        {
            return [];
        }

        var ranges = buckets
            .GroupBy(b => (b.UserRef, b.Type, b.SourceRef))
            .Select(g => (g.Key, From: g.Min(b => b.BucketMs), To: g.Max(b => b.BucketMs) + BucketKey.Length))
            .ToList();
        await using var command = Command(
            connection,
            """
            SELECT s.user_ref, s.type, s.source_ref, s.payload
            FROM unnest(@users, @types, @sources, @froms, @tos) AS k(u, t, s, f, e)
            JOIN series s ON s.user_ref = k.u AND s.type = k.t AND s.source_ref = k.s AND s.end_ms >= k.f AND s.start_ms < k.e
            ORDER BY s.seq
            """,
            Array("users", NpgsqlDbType.Bigint, ranges.Select(r => r.Key.UserRef).ToArray()),
            Array("types", NpgsqlDbType.Integer, ranges.Select(r => r.Key.Type).ToArray()),
            Array("sources", NpgsqlDbType.Bigint, ranges.Select(r => r.Key.SourceRef).ToArray()),
            Array("froms", NpgsqlDbType.Bigint, ranges.Select(r => r.From).ToArray()),
            Array("tos", NpgsqlDbType.Bigint, ranges.Select(r => r.To).ToArray()));
        var series = new List<StoredSeriesPayload>();
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            series.Add(new StoredSeriesPayload(reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2), (byte[])reader.GetValue(3)));
        }

        return series;
    }
}
