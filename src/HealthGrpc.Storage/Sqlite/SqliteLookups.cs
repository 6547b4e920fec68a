using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>Source and unit ids to values (immutable once committed, so cached for the store's lifetime).</summary>
internal sealed class SqliteLookups(
    SqliteConnection connection,
    ConcurrentDictionary<long, SourceRecord> sources,
    ConcurrentDictionary<long, string> units)
{
    public SourceRecord Source(long id)
    {
        if (sources.TryGetValue(id, out var source))
        {
            return source;
        }

        using var command = Command(
            connection,
            "SELECT kind, name, manufacturer, model, hardware_version, software_version, app_id FROM sources WHERE id = $id",
            ("$id", id));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            throw new InvalidOperationException($"Source {id} is missing.");
        }

        source = new SourceRecord(
            reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
            reader.GetString(5), reader.GetString(6));
        return sources.GetOrAdd(id, source);
    }

    public string Unit(long id)
    {
        if (units.TryGetValue(id, out var unit))
        {
            return unit;
        }

        using var command = Command(connection, "SELECT unit FROM units WHERE id = $id", ("$id", id));
        unit = command.ExecuteScalar() as string ?? throw new InvalidOperationException($"Unit {id} is missing.");
        return units.GetOrAdd(id, unit);
    }
}
