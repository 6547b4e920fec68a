using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// Integer ids of users, sources and units for the writer. The caches hold only ids of committed rows; ids found or
/// created inside the open transaction sit in the pending maps until the group commits (a rolled-back batch or group
/// just drops them: lookups fall back to SQL).
/// </summary>
internal sealed class WriterIds
{
    private readonly Dictionary<string, long> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _pendingUsers = new(StringComparer.Ordinal);
    private readonly Dictionary<SourceRecord, long> _sources = [];
    private readonly Dictionary<SourceRecord, long> _pendingSources = [];
    private readonly Dictionary<string, long> _units = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _pendingUnits = new(StringComparer.Ordinal);
    private readonly SqliteCommand _selectUser, _insertUser, _selectSource, _insertSource, _selectUnit, _insertUnit;

    // Consecutive items of a batch mostly share one source and unit instance: a reference check skips the hash.
    private SourceRecord? _lastSource;
    private long _lastSourceRef;
    private string? _lastUnit;
    private long _lastUnitRef;

    public WriterIds(WriterStatements statements)
    {
        _selectUser = statements.Prepare("SELECT id FROM users WHERE user_id = $user", ("$user", SqliteType.Text));
        _insertUser = statements.Prepare(
            "INSERT INTO users (user_id, change_seq, created_ms) VALUES ($user, 0, $now) ON CONFLICT (user_id) DO NOTHING",
            ("$user", SqliteType.Text), ("$now", SqliteType.Integer));

        (string, SqliteType)[] sourceColumns =
        [
            ("$kind", SqliteType.Integer), ("$name", SqliteType.Text), ("$manufacturer", SqliteType.Text), ("$model", SqliteType.Text),
            ("$hardware", SqliteType.Text), ("$software", SqliteType.Text), ("$app", SqliteType.Text),
        ];
        _selectSource = statements.Prepare(
            """
            SELECT id FROM sources
            WHERE kind = $kind AND name = $name AND manufacturer = $manufacturer AND model = $model
              AND hardware_version = $hardware AND software_version = $software AND app_id = $app
            """,
            sourceColumns);
        _insertSource = statements.Prepare(
            """
            INSERT INTO sources (kind, name, manufacturer, model, hardware_version, software_version, app_id)
            VALUES ($kind, $name, $manufacturer, $model, $hardware, $software, $app) RETURNING id
            """,
            sourceColumns);
        _selectUnit = statements.Prepare("SELECT id FROM units WHERE unit = $unit", ("$unit", SqliteType.Text));
        _insertUnit = statements.Prepare("INSERT INTO units (unit) VALUES ($unit) RETURNING id", ("$unit", SqliteType.Text));
    }

    /// <summary>The group committed: its ids are committed ids now.</summary>
    public void Promote()
    {
        Merge(_pendingUsers, _users);
        Merge(_pendingSources, _sources);
        Merge(_pendingUnits, _units);
    }

    /// <summary>The transaction rolled back: forget the ids found or created in it.</summary>
    public void DropPending()
    {
        _pendingUsers.Clear();
        _pendingSources.Clear();
        _pendingUnits.Clear();
        _lastSource = null;
        _lastUnit = null;
    }

    public long EnsureUser(string userId, long nowMs)
    {
        if (_users.TryGetValue(userId, out var id) || _pendingUsers.TryGetValue(userId, out id))
        {
            return id;
        }

        _selectUser.Bind("$user", userId);
        if (_selectUser.ExecuteScalar() is long existing)
        {
            _pendingUsers[userId] = existing; // may have been created earlier in this (uncommitted) transaction
            return existing;
        }

        _insertUser.Bind("$user", userId);
        _insertUser.Bind("$now", nowMs);
        _insertUser.ExecuteNonQuery();
        id = (long)_selectUser.ExecuteScalar()!;
        _pendingUsers[userId] = id;
        return id;
    }

    public long Source(SourceRecord source)
    {
        if (ReferenceEquals(source, _lastSource))
        {
            return _lastSourceRef;
        }

        if (!_sources.TryGetValue(source, out var id) && !_pendingSources.TryGetValue(source, out id))
        {
            BindSource(_selectSource, source);
            if (_selectSource.ExecuteScalar() is long existing)
            {
                id = existing;
            }
            else
            {
                BindSource(_insertSource, source);
                id = (long)_insertSource.ExecuteScalar()!;
            }

            _pendingSources[source] = id;
        }

        _lastSource = source;
        _lastSourceRef = id;
        return id;
    }

    public long Unit(string unit)
    {
        if (ReferenceEquals(unit, _lastUnit))
        {
            return _lastUnitRef;
        }

        if (!_units.TryGetValue(unit, out var id) && !_pendingUnits.TryGetValue(unit, out id))
        {
            _selectUnit.Bind("$unit", unit);
            if (_selectUnit.ExecuteScalar() is long existing)
            {
                id = existing;
            }
            else
            {
                _insertUnit.Bind("$unit", unit);
                id = (long)_insertUnit.ExecuteScalar()!;
            }

            _pendingUnits[unit] = id;
        }

        _lastUnit = unit;
        _lastUnitRef = id;
        return id;
    }

    private static void BindSource(SqliteCommand command, SourceRecord source)
    {
        command.Bind("$kind", source.Kind);
        command.Bind("$name", source.Name);
        command.Bind("$manufacturer", source.Manufacturer);
        command.Bind("$model", source.Model);
        command.Bind("$hardware", source.HardwareVersion);
        command.Bind("$software", source.SoftwareVersion);
        command.Bind("$app", source.AppId);
    }

    private static void Merge<TKey>(Dictionary<TKey, long> pending, Dictionary<TKey, long> committed)
        where TKey : notnull
    {
        foreach (var (key, value) in pending)
        {
            committed[key] = value;
        }

        pending.Clear();
    }
}
