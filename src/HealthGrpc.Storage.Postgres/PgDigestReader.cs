using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// <see cref="IDailyDigestStore"/> on PostgreSQL, the same rows as SQLite's <c>SqliteDigestReader</c>: the user's
/// discrete samples (deleted and replaced ones are no longer in <c>samples</c>; series and waveforms are other tables),
/// by the day their start falls in. One statement for every type, so every type is digested from one snapshot: a range
/// scan of the (user_ref, type, start_ms, seq) key, the device filter a compare on the scanned rows (as in SQLite: no
/// index needed). The rows stream in and are folded into their type × day cell as they arrive; nothing is kept per row.
/// </summary>
internal static class PgDigestReader
{
    private const long DayMs = 86_400_000;

    private const string Samples = """
        SELECT type, start_ms, uuid FROM samples
        WHERE user_ref = (SELECT id FROM users WHERE user_id = @user) AND type = ANY(@types)
          AND start_ms >= @from AND start_ms < @to
        """;

    // Only with a device: an unknown device matches no row (the subquery is NULL), like SQLite.
    private const string OfDevice = """

          AND device_ref = (SELECT d.id FROM devices d JOIN users u ON u.id = d.user_ref WHERE u.user_id = @user AND d.device_id = @device)
        """;

    public static async Task<IReadOnlyList<DailyDigestRecord>> ReadAsync(
        NpgsqlConnection connection, string userId, IReadOnlyList<int> types, long firstDayUnixMs, int days, string? deviceId, UuidHash hash, CancellationToken ct)
    {
        var distinct = types.Distinct().ToArray();
        var row = distinct.Select((type, index) => (type, index)).ToDictionary(t => t.type, t => t.index);
        var counts = new long[distinct.Length * days];
        var digests = new ulong[distinct.Length * days];
        var uuid = new byte[16];
        NpgsqlParameter[] range =
        [
            Value("user", userId), Array("types", NpgsqlDbType.Integer, distinct), Value("from", firstDayUnixMs),
            Value("to", firstDayUnixMs + (days * DayMs)),
        ];
        await using (var command = deviceId is null
            ? Command(connection, Samples, range)
            : Command(connection, Samples + OfDevice, [.. range, Value("device", deviceId)]))
        await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var cell = (row[reader.GetInt32(0)] * days) + (int)((reader.GetInt64(1) - firstDayUnixMs) / DayMs);
                // The hash is over the wire's RFC 9562 (big-endian) bytes, the order SQLite stores.
                reader.GetGuid(2).TryWriteBytes(uuid, bigEndian: true, out _);
                counts[cell]++;
                digests[cell] = unchecked(digests[cell] + hash(uuid));
            }
        }

        // In the order asked for (a repeated type repeats its entries, as on SQLite).
        var result = new List<DailyDigestRecord>(types.Count * days);
        foreach (var type in types)
        {
            for (var day = 0; day < days; day++)
            {
                var cell = (row[type] * days) + day;
                result.Add(new DailyDigestRecord(type, firstDayUnixMs + (day * DayMs), counts[cell], digests[cell]));
            }
        }

        return result;
    }
}
