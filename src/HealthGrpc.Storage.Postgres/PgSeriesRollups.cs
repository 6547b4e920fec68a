using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// Migration 7: series points count in the rollups. The index lets a recomputed bucket find the series that remain in
/// it; the stored series, which earlier versions left out of the rollups, are added to them (one user at a time, so
/// memory stays bounded by one user's buckets). Their payloads are protobuf, so this step is code, not SQL.
/// </summary>
internal static class PgSeriesRollups
{
    public const string MigrationSql = "CREATE INDEX series_user_type_source_end ON series (user_ref, type, source_ref, end_ms);";

    public static async Task AddStoredSeriesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken ct)
    {
        var users = new List<long>();
        await using (var distinct = Command(connection, "SELECT DISTINCT user_ref FROM series ORDER BY user_ref"))
        {
            distinct.Transaction = transaction;
            await using var reader = await distinct.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                users.Add(reader.GetInt64(0));
            }
        }

        var deltas = new Dictionary<BucketKey, BucketDelta>();
        foreach (var user in users)
        {
            await using (var series = Command(
                connection, "SELECT type, source_ref, payload FROM series WHERE user_ref = @user ORDER BY seq", Value("user", user)))
            {
                series.Transaction = transaction;
                await using var reader = await series.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    SeriesRollups.AddPoints(deltas, user, reader.GetInt32(0), reader.GetInt64(1), (byte[])reader.GetValue(2));
                }
            }

            if (deltas.Count > 0)
            {
                await using var upsert = new NpgsqlBatch(connection, transaction) { BatchCommands = { PgRollupWrites.Upsert(deltas) } };
                await upsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                deltas.Clear();
            }
        }
    }
}
