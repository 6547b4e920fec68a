using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>A device's committed state and checkpoint (read-only: a newer epoch registers with its first applied batch).</summary>
internal static class PgDeviceReader
{
    public static async Task<DeviceState> ReadStateAsync(NpgsqlConnection connection, string userId, string deviceId, ulong epoch, CancellationToken ct)
    {
        await using var command = Command(
            connection,
            """
            SELECT d.newest_epoch, (SELECT high_water_mark FROM device_epochs WHERE device_ref = d.id AND epoch = @e)
            FROM devices d JOIN users u ON u.id = d.user_ref
            WHERE u.user_id = @u AND d.device_id = @d
            """,
            Value("u", userId), Value("d", deviceId), Value("e", unchecked((long)epoch)));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            return new DeviceState(0, 0, false);
        }

        var newest = unchecked((ulong)reader.GetInt64(0));
        var hwm = reader.IsDBNull(1) ? 0 : unchecked((ulong)reader.GetInt64(1));
        return new DeviceState(hwm, newest, epoch < newest);
    }

    public static async Task<DeviceCheckpoint?> ReadCheckpointAsync(NpgsqlConnection connection, string userId, string deviceId, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command(
            """
            SELECT d.newest_epoch, d.last_commit_ms,
                   (SELECT high_water_mark FROM device_epochs WHERE device_ref = d.id AND epoch = d.newest_epoch)
            FROM devices d JOIN users u ON u.id = d.user_ref
            WHERE u.user_id = @u AND d.device_id = @d
            """,
            Value("u", userId), Value("d", deviceId)));
        batch.BatchCommands.Add(Command(
            """
            SELECT a.type, a.vendor_type, a.anchor FROM anchors a
            JOIN devices d ON d.id = a.device_ref JOIN users u ON u.id = d.user_ref
            WHERE u.user_id = @u AND d.device_id = @d
            ORDER BY a.type, a.vendor_type
            """,
            Value("u", userId), Value("d", deviceId)));
        await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            return null;
        }

        var epoch = unchecked((ulong)reader.GetInt64(0));
        var lastCommitMs = reader.GetInt64(1);
        var hwm = reader.IsDBNull(2) ? 0 : unchecked((ulong)reader.GetInt64(2));
        await reader.NextResultAsync(ct).ConfigureAwait(false);
        var anchors = new List<AnchorRecord>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var vendor = reader.GetString(1);
            anchors.Add(new AnchorRecord(reader.GetInt32(0), vendor.Length == 0 ? null : vendor, (byte[])reader.GetValue(2)));
        }

        return new DeviceCheckpoint(deviceId, epoch, hwm, anchors, DateTimeOffset.FromUnixTimeMilliseconds(lastCommitMs));
    }
}
