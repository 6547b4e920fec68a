using HealthGrpc.Storage.Sqlite.Writing;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// Migration 17: series points count in the rollups. The index lets a recomputed bucket find the series that remain in
/// it; the stored series, which earlier versions left out of the rollups, are added to them (one user at a time, so
/// memory stays bounded by one user's buckets). Their payloads are protobuf, so this step is code, not SQL.
/// </summary>
internal static class SqliteSeriesRollups
{
    public const string MigrationSql = "CREATE INDEX series_user_type_source_end ON series (user_ref, type, source_ref, end_ms);";

    public static void AddStoredSeries(SqliteConnection connection)
    {
        var users = new List<long>();
        using (var distinct = Command(connection, "SELECT DISTINCT user_ref FROM series ORDER BY user_ref"))
        using (var reader = distinct.ExecuteReader())
        {
            while (reader.Read())
            {
                users.Add(reader.GetInt64(0));
            }
        }

        using var series = Prepared(connection, "SELECT type, source_ref, payload FROM series WHERE user_ref = $user ORDER BY seq", ("$user", SqliteType.Integer));
        using var upsert = Prepared(connection, RollupWriter.UpsertSql, RollupWriter.UpsertParameters);
        var deltas = new Dictionary<BucketKey, BucketDelta>();
        foreach (var user in users)
        {
            series.Bind("$user", user);
            using (var reader = series.ExecuteReader())
            {
                while (reader.Read())
                {
                    SeriesRollups.AddPoints(deltas, user, reader.GetInt32(0), reader.GetInt64(1), (byte[])reader.GetValue(2));
                }
            }

            RollupWriter.Upsert(upsert, deltas);
            deltas.Clear();
        }
    }
}
