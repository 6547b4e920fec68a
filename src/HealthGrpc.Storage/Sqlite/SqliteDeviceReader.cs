using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>Committed device state for Hello (high-water mark, newest epoch) and GetCheckpoint (plus the latest anchors).</summary>
internal static class SqliteDeviceReader
{
    public static DeviceState ReadState(SqliteConnection connection, string userId, string deviceId, ulong epoch)
    {
        using var command = Command(
            connection,
            """
            SELECT d.newest_epoch,
                   (SELECT high_water_mark FROM device_epochs WHERE device_ref = d.id AND epoch = $epoch)
            FROM devices d JOIN users u ON u.id = d.user_ref
            WHERE u.user_id = $user AND d.device_id = $device
            """,
            ("$user", userId), ("$device", deviceId), ("$epoch", unchecked((long)epoch)));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return new DeviceState(0, 0, false);
        }

        var newest = unchecked((ulong)reader.GetInt64(0));
        var hwm = reader.IsDBNull(1) ? 0 : unchecked((ulong)reader.GetInt64(1));
        return new DeviceState(hwm, newest, epoch < newest);
    }

    public static DeviceCheckpoint? ReadCheckpoint(SqliteConnection connection, string userId, string deviceId)
    {
        long deviceRef;
        ulong epoch, hwm;
        long lastCommitMs;
        using (var command = Command(
            connection,
            """
            SELECT d.id, d.newest_epoch, d.last_commit_ms,
                   (SELECT high_water_mark FROM device_epochs WHERE device_ref = d.id AND epoch = d.newest_epoch)
            FROM devices d JOIN users u ON u.id = d.user_ref
            WHERE u.user_id = $user AND d.device_id = $device
            """,
            ("$user", userId), ("$device", deviceId)))
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read())
            {
                return null;
            }

            deviceRef = reader.GetInt64(0);
            epoch = unchecked((ulong)reader.GetInt64(1));
            lastCommitMs = reader.GetInt64(2);
            hwm = reader.IsDBNull(3) ? 0 : unchecked((ulong)reader.GetInt64(3));
        }

        var anchors = new List<AnchorRecord>();
        using (var command = Command(
            connection,
            "SELECT type, vendor_type, anchor FROM anchors WHERE device_ref = $device ORDER BY type, vendor_type",
            ("$device", deviceRef)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var vendor = reader.GetString(1);
                anchors.Add(new AnchorRecord(reader.GetInt32(0), vendor.Length == 0 ? null : vendor, (byte[])reader.GetValue(2)));
            }
        }

        return new DeviceCheckpoint(deviceId, epoch, hwm, anchors, DateTimeOffset.FromUnixTimeMilliseconds(lastCommitMs));
    }
}
