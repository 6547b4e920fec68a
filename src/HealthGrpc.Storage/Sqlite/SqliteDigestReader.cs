using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// <see cref="IDailyDigestStore"/> on SQLite: one range scan of the samples key (user, type, start) per type, folding
/// each uuid into its day; the device filter is a column compare on the scanned rows (no index needed).
/// </summary>
internal static class SqliteDigestReader
{
    private const long DayMs = 86_400_000;

    public static IReadOnlyList<DailyDigestRecord> Read(
        SqliteConnection connection, string userId, IReadOnlyList<int> types, long firstDayUnixMs, int days, string? deviceId, UuidHash hash)
    {
        var result = new List<DailyDigestRecord>(types.Count * days);
        var counts = new long[days];
        var digests = new ulong[days];
        var uuid = new byte[16];
        // One read transaction: every type is digested from the same snapshot.
        using var snapshot = connection.BeginTransaction(deferred: true);
        foreach (var type in types)
        {
            Array.Clear(counts);
            Array.Clear(digests);
            using var command = Command(
                connection,
                """
                SELECT start_ms, uuid FROM samples
                WHERE user_ref = (SELECT id FROM users WHERE user_id = $user) AND type = $type
                  AND start_ms >= $from AND start_ms < $to
                  AND ($device IS NULL OR device_ref = (SELECT d.id FROM devices d JOIN users u ON u.id = d.user_ref
                                                        WHERE u.user_id = $user AND d.device_id = $device))
                """,
                ("$user", userId), ("$type", type), ("$from", firstDayUnixMs), ("$to", firstDayUnixMs + (days * DayMs)), ("$device", deviceId));
            command.Transaction = snapshot;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var day = (int)((reader.GetInt64(0) - firstDayUnixMs) / DayMs);
                reader.GetBytes(1, 0, uuid, 0, uuid.Length);
                counts[day]++;
                digests[day] = unchecked(digests[day] + hash(uuid));
            }

            for (var day = 0; day < days; day++)
            {
                result.Add(new DailyDigestRecord(type, firstDayUnixMs + (day * DayMs), counts[day], digests[day]));
            }
        }

        return result;
    }
}
