using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// Per type, the time before which retention purged the raw items: an upload starting earlier is not stored again
/// (its rollup still holds the purged original). Raised inside a transaction, effective for the writer at once and
/// kept only when the transaction commits.
/// </summary>
internal sealed class RetentionHorizons
{
    private readonly Dictionary<int, long> _committed = [];
    private readonly Dictionary<int, long> _pending = [];
    private readonly SqliteCommand _raise;

    public RetentionHorizons(WriterStatements statements)
    {
        using (var load = SqliteCommands.Command(statements.Connection, "SELECT type, purged_before_ms FROM retention_horizons"))
        using (var reader = load.ExecuteReader())
        {
            while (reader.Read())
            {
                _committed[reader.GetInt32(0)] = reader.GetInt64(1);
            }
        }

        _raise = statements.Prepare(
            """
            INSERT INTO retention_horizons (type, purged_before_ms) VALUES ($type, $before)
            ON CONFLICT (type) DO UPDATE SET purged_before_ms = MAX(purged_before_ms, excluded.purged_before_ms)
            """,
            ("$type", SqliteType.Integer), ("$before", SqliteType.Integer));
    }

    /// <summary>True when an item of <paramref name="type"/> starting at <paramref name="startMs"/> lies in a purged range.</summary>
    public bool IsPurged(int type, long startMs)
        => (_committed.Count != 0 || _pending.Count != 0) && startMs < Horizon(type);

    public void Raise(int type, long beforeMs)
    {
        if (beforeMs <= Horizon(type))
        {
            return;
        }

        _raise.Bind("$type", type);
        _raise.Bind("$before", beforeMs);
        _raise.ExecuteNonQuery();
        _pending[type] = beforeMs;
    }

    public void Promote()
    {
        foreach (var (type, before) in _pending)
        {
            _committed[type] = before;
        }

        _pending.Clear();
    }

    public void DropPending() => _pending.Clear();

    private long Horizon(int type)
        => _pending.TryGetValue(type, out var pending) ? pending : _committed.GetValueOrDefault(type, long.MinValue);
}
