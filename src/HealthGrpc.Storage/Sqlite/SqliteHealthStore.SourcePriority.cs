namespace HealthGrpc.Storage.Sqlite;

/// <summary>Per-user source priority (<see cref="SqliteSourcePriorities"/>): read on the read runner, written in a short transaction of its own.</summary>
public sealed partial class SqliteHealthStore : ISourcePriorityStore
{
    private SqliteShortWrite? _priorityWrites;

    // Stateless over the file: created on first use, a second instance from a racing first use is harmless.
    private SqliteShortWrite PriorityWrites => _priorityWrites ??= new SqliteShortWrite(SqliteSchema.WriterConnectionString(_path, _options.BusyTimeout));

    public Task<IReadOnlyList<int>?> GetSourcePriorityAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return _reads.RunAsync(connection => SqliteSourcePriorities.Read(connection, userId), ct);
    }

    public Task<bool> SetSourcePriorityAsync(string userId, IReadOnlyList<int> kinds, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(kinds);
        var copy = kinds.ToArray();
        return PriorityWrites.RunAsync(connection => SqliteSourcePriorities.Write(connection, userId, copy), ct);
    }
}
