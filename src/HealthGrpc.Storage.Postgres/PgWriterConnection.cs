using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// The writer loop's connection (reopened after a failure) and its id caches. Users, sources and units are created in
/// short statements of their own BEFORE the group's transaction, in sorted order: they are never deleted, so a group
/// that later rolls back leaves at most an unused row, and two instances creating the same new ids never deadlock
/// (nor wait on each other while holding user locks). The caches therefore only ever hold committed ids.
/// </summary>
internal sealed class PgWriterConnection(NpgsqlDataSource dataSource) : IAsyncDisposable
{
    private readonly Dictionary<string, long> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<SourceRecord, long> _sources = [];
    private readonly Dictionary<string, long> _units = new(StringComparer.Ordinal);
    private NpgsqlConnection? _connection;
    private volatile int _processId;

    /// <summary>The backend process id of the open connection (its NOTIFYs are this instance's own).</summary>
    public int ProcessId => _processId;

    public async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        if (_connection is { State: System.Data.ConnectionState.Open } open)
        {
            return open;
        }

        await ResetAsync().ConfigureAwait(false);
        var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            await using var staging = Command(connection, PgGroupWriter.StagingTable);
            await staging.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _processId = connection.ProcessID;
        return _connection = connection;
    }

    /// <summary>Drops the connection (after a failure: the next group opens a fresh one).</summary>
    public async Task ResetAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            _processId = 0;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => new(ResetAsync());

    public async Task<IReadOnlyDictionary<string, long>> UsersAsync(NpgsqlConnection connection, IEnumerable<string> userIds, long nowMs, CancellationToken ct)
    {
        var missing = userIds.Where(id => !_users.ContainsKey(id)).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            await InsertThenSelectAsync(connection, Command(
                """
                INSERT INTO users (user_id, created_ms) SELECT u, @t FROM unnest(@ids) WITH ORDINALITY AS v(u, o) ORDER BY o
                ON CONFLICT (user_id) DO NOTHING
                """,
                Value("t", nowMs), Array("ids", NpgsqlDbType.Text, missing)),
                Command("SELECT user_id, id FROM users WHERE user_id = ANY(@ids)", Array("ids", NpgsqlDbType.Text, missing)),
                reader => _users[reader.GetString(0)] = reader.GetInt64(1),
                ct).ConfigureAwait(false);
        }

        return _users;
    }

    public async Task<IReadOnlyDictionary<SourceRecord, long>> SourcesAsync(NpgsqlConnection connection, IEnumerable<SourceRecord> sources, CancellationToken ct)
    {
        var missing = sources.Where(s => !_sources.ContainsKey(s)).Distinct()
            .OrderBy(s => s.Kind).ThenBy(s => s.Name, StringComparer.Ordinal).ThenBy(s => s.Manufacturer, StringComparer.Ordinal)
            .ThenBy(s => s.Model, StringComparer.Ordinal).ThenBy(s => s.HardwareVersion, StringComparer.Ordinal)
            .ThenBy(s => s.SoftwareVersion, StringComparer.Ordinal).ThenBy(s => s.AppId, StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            NpgsqlParameter[] Columns() =>
            [
                Array("kinds", NpgsqlDbType.Integer, missing.Select(s => s.Kind).ToArray()),
                Array("names", NpgsqlDbType.Text, missing.Select(s => s.Name).ToArray()),
                Array("manufacturers", NpgsqlDbType.Text, missing.Select(s => s.Manufacturer).ToArray()),
                Array("models", NpgsqlDbType.Text, missing.Select(s => s.Model).ToArray()),
                Array("hardware", NpgsqlDbType.Text, missing.Select(s => s.HardwareVersion).ToArray()),
                Array("software", NpgsqlDbType.Text, missing.Select(s => s.SoftwareVersion).ToArray()),
                Array("apps", NpgsqlDbType.Text, missing.Select(s => s.AppId).ToArray()),
            ];
            const string Keys = "kind, name, manufacturer, model, hardware_version, software_version, app_id";
            const string Unnest = "unnest(@kinds, @names, @manufacturers, @models, @hardware, @software, @apps)";
            await InsertThenSelectAsync(
                connection,
                Command(
                $"INSERT INTO sources ({Keys}) SELECT k, n, m, mo, hw, sw, a FROM {Unnest} WITH ORDINALITY AS v(k, n, m, mo, hw, sw, a, o) ORDER BY o ON CONFLICT DO NOTHING",
                Columns()),
                Command($"SELECT id, {Keys} FROM sources WHERE ({Keys}) IN (SELECT * FROM {Unnest})", Columns()),
                reader => _sources[new SourceRecord(
                    reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6),
                    reader.GetString(7))] = reader.GetInt64(0),
                ct).ConfigureAwait(false);
        }

        return _sources;
    }

    public async Task<IReadOnlyDictionary<string, long>> UnitsAsync(NpgsqlConnection connection, IEnumerable<string> units, CancellationToken ct)
    {
        var missing = units.Where(u => !_units.ContainsKey(u)).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            await InsertThenSelectAsync(connection, Command(
                "INSERT INTO units (unit) SELECT u FROM unnest(@units) WITH ORDINALITY AS v(u, o) ORDER BY o ON CONFLICT (unit) DO NOTHING",
                Array("units", NpgsqlDbType.Text, missing)),
                Command("SELECT unit, id FROM units WHERE unit = ANY(@units)", Array("units", NpgsqlDbType.Text, missing)),
                reader => _units[reader.GetString(0)] = reader.GetInt64(1),
                ct).ConfigureAwait(false);
        }

        return _units;
    }

    /// <summary>
    /// Inserts the missing rows (autocommit: committed before the SELECT), then reads every id: rows another instance
    /// inserted concurrently are found too (ON CONFLICT waited for that instance's commit).
    /// </summary>
    private static async Task InsertThenSelectAsync(
        NpgsqlConnection connection, NpgsqlBatchCommand insert, NpgsqlBatchCommand select, Action<NpgsqlDataReader> row, CancellationToken ct)
    {
        await using (var inserting = new NpgsqlBatch(connection) { BatchCommands = { insert } })
        {
            await inserting.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await using var selecting = new NpgsqlBatch(connection) { BatchCommands = { select } };
        await using var reader = await selecting.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            row(reader);
        }
    }
}
