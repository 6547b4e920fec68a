using System.Collections.Concurrent;
using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>Source and unit ids to values (immutable once committed, so cached for the store's lifetime), loaded in bulk.</summary>
internal sealed class PgLookups
{
    private readonly ConcurrentDictionary<long, SourceRecord> _sources = new();
    private readonly ConcurrentDictionary<long, string> _units = new();

    public SourceRecord Source(long id) => _sources[id];

    public string Unit(long id) => _units[id];

    /// <summary>Loads the ids not cached yet (one query per kind, only when something is missing).</summary>
    public async Task EnsureAsync(NpgsqlConnection connection, IEnumerable<long> sourceIds, IEnumerable<long> unitIds, CancellationToken ct)
    {
        var missingSources = sourceIds.Where(id => !_sources.ContainsKey(id)).Distinct().ToArray();
        if (missingSources.Length > 0)
        {
            await using var command = Command(
                connection,
                "SELECT id, kind, name, manufacturer, model, hardware_version, software_version, app_id FROM sources WHERE id = ANY(@ids)",
                Array("ids", NpgsqlDbType.Bigint, missingSources));
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                _sources[reader.GetInt64(0)] = new SourceRecord(
                    reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                    reader.GetString(6), reader.GetString(7));
            }
        }

        var missingUnits = unitIds.Where(id => !_units.ContainsKey(id)).Distinct().ToArray();
        if (missingUnits.Length > 0)
        {
            await using var command = Command(connection, "SELECT id, unit FROM units WHERE id = ANY(@ids)", Array("ids", NpgsqlDbType.Bigint, missingUnits));
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                _units[reader.GetInt64(0)] = reader.GetString(1);
            }
        }
    }

    /// <summary>Device ids of one user by their row id.</summary>
    public static async Task<Dictionary<long, string>> DevicesAsync(NpgsqlConnection connection, long userRef, CancellationToken ct)
    {
        var devices = new Dictionary<long, string>();
        await using var command = Command(connection, "SELECT id, device_id FROM devices WHERE user_ref = @u", Value("u", userRef));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            devices[reader.GetInt64(0)] = reader.GetString(1);
        }

        return devices;
    }
}
