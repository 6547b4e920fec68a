using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>Reads a user's 15-minute rollups of one type in a bucket-start range: one range scan of the rollups key.</summary>
internal static class SqliteRollupReader
{
    public static IReadOnlyList<RollupRecord> Read(
        SqliteConnection connection,
        string userId,
        int type,
        long fromUnixMs,
        long toUnixMs,
        ConcurrentDictionary<long, SourceRecord> sourceCache,
        ConcurrentDictionary<long, string> unitCache)
    {
        var lookups = new SqliteLookups(connection, sourceCache, unitCache);
        var rollups = new List<RollupRecord>();
        using var command = Command(
            connection,
            """
            SELECT source_ref, bucket_ms, sum, count, min, max, first, first_ms, last, last_ms
            FROM rollups
            WHERE user_ref = (SELECT id FROM users WHERE user_id = $user) AND type = $type
              AND bucket_ms >= $from AND bucket_ms < $to
            ORDER BY bucket_ms, source_ref
            """,
            ("$user", userId), ("$type", type), ("$from", fromUnixMs), ("$to", toUnixMs));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rollups.Add(new RollupRecord(
                type,
                lookups.Source(reader.GetInt64(0)),
                reader.GetInt64(1),
                reader.GetDouble(2),
                reader.GetInt64(3),
                reader.GetDouble(4),
                reader.GetDouble(5),
                reader.GetDouble(6),
                reader.GetInt64(7),
                reader.GetDouble(8),
                reader.GetInt64(9)));
        }

        return rollups;
    }
}
