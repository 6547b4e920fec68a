using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// The one mapping of stored sample, series and waveform rows to domain records, shared by the change feed and the
/// range reads: each SELECT starts with the kind's column list (readers rely on its ordinals) and may add columns
/// after it (at <see cref="SampleColumnCount"/> etc.).
/// </summary>
internal static class StoredItemRows
{
    public const string SampleColumns =
        "uuid, type, vendor_type, start_ms, end_ms, zone, quantity, category, unit_ref, source_ref, device_ref, sync_id, sync_version, metadata";

    public const int SampleColumnCount = 14;

    public const string SeriesColumns = "uuid, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms, zone, point_count, payload";

    public const int SeriesColumnCount = 11;

    public const string WaveformColumns =
        "uuid, chunk_index, chunk_count, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, zone, frequency_hz, lead, first_sample_index, point_count, payload";

    public const int WaveformColumnCount = 15;

    public static SampleRecord Sample(SqliteDataReader r, SqliteLookups lookup, out long deviceRef)
    {
        deviceRef = r.GetInt64(10);
        return new SampleRecord(
            UuidBytes.Read((byte[])r.GetValue(0)),
            r.GetInt32(1),
            NullableText(r, 2),
            r.GetInt64(3),
            r.GetInt64(4),
            r.IsDBNull(5) ? null : r.GetInt32(5),
            r.IsDBNull(6) ? null : r.GetDouble(6),
            r.IsDBNull(7) ? null : r.GetInt32(7),
            lookup.Unit(r.GetInt64(8)),
            lookup.Source(r.GetInt64(9)),
            NullableText(r, 11),
            r.IsDBNull(12) ? 0 : unchecked((ulong)r.GetInt64(12)),
            MetadataCodec.Decode(NullableText(r, 13)));
    }

    public static SeriesRecord Series(SqliteDataReader r, SqliteLookups lookup, out long deviceRef)
    {
        deviceRef = r.GetInt64(5);
        return new SeriesRecord(
            UuidBytes.Read((byte[])r.GetValue(0)),
            r.GetInt32(1),
            NullableText(r, 2),
            lookup.Unit(r.GetInt64(3)),
            lookup.Source(r.GetInt64(4)),
            r.GetInt64(6),
            r.GetInt64(7),
            r.IsDBNull(8) ? null : r.GetInt32(8),
            r.GetInt32(9),
            (byte[])r.GetValue(10));
    }

    public static WaveformRecord Waveform(SqliteDataReader r, SqliteLookups lookup, out long deviceRef)
    {
        deviceRef = r.GetInt64(7);
        return new WaveformRecord(
            UuidBytes.Read((byte[])r.GetValue(0)),
            unchecked((uint)r.GetInt64(1)),
            unchecked((uint)r.GetInt64(2)),
            r.GetInt32(3),
            NullableText(r, 4),
            lookup.Unit(r.GetInt64(5)),
            lookup.Source(r.GetInt64(6)),
            r.GetInt64(8),
            r.IsDBNull(9) ? null : r.GetInt32(9),
            r.GetDouble(10),
            r.GetInt32(11),
            unchecked((ulong)r.GetInt64(12)),
            r.GetInt32(13),
            (byte[])r.GetValue(14));
    }

    /// <summary>The user's device ids by their integer ref.</summary>
    public static Dictionary<long, string> Devices(SqliteConnection connection, long userRef)
    {
        var devices = new Dictionary<long, string>();
        using var command = Command(connection, "SELECT id, device_id FROM devices WHERE user_ref = $user", ("$user", userRef));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            devices[reader.GetInt64(0)] = reader.GetString(1);
        }

        return devices;
    }

    private static string? NullableText(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);
}
