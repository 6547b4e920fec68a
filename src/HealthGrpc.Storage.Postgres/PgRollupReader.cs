using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>A user's 15-minute rollups of one type in a bucket-start range: one range scan of the rollups key.</summary>
internal static class PgRollupReader
{
    public static async Task<IReadOnlyList<RollupRecord>> ReadAsync(
        NpgsqlConnection connection, PgLookups lookups, string userId, int type, long fromUnixMs, long toUnixMs, CancellationToken ct)
    {
        var rows = new List<(long SourceRef, RollupRecord Rollup)>();
        await using (var command = Command(
            connection,
            """
            SELECT source_ref, bucket_ms, sum, count, min, max, first, first_ms, last, last_ms
            FROM rollups
            WHERE user_ref = (SELECT id FROM users WHERE user_id = @user) AND type = @type
              AND bucket_ms >= @from AND bucket_ms < @to
            ORDER BY bucket_ms, source_ref
            """,
            Value("user", userId), Value("type", type), Value("from", fromUnixMs), Value("to", toUnixMs)))
        await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                rows.Add((reader.GetInt64(0), new RollupRecord(
                    type, null!, reader.GetInt64(1), reader.GetDouble(2), reader.GetInt64(3), reader.GetDouble(4), reader.GetDouble(5),
                    reader.GetDouble(6), reader.GetInt64(7), reader.GetDouble(8), reader.GetInt64(9))));
            }
        }

        await lookups.EnsureAsync(connection, rows.Select(r => r.SourceRef), [], ct).ConfigureAwait(false);
        return rows.Select(r => r.Rollup with { Source = lookups.Source(r.SourceRef) }).ToList();
    }
}
