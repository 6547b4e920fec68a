using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>Where retention continues after a restart (<c>retention_progress</c>, written by the compaction's own work item).</summary>
public sealed partial class SqliteHealthStore : IRetentionProgressStore
{
    public Task<long> GetAckCompactionPositionAsync(CancellationToken ct)
        => _reads.RunAsync(
            connection =>
            {
                using var command = Command(connection, "SELECT position FROM retention_progress WHERE task = $task", ("$task", SqliteRetention.AckCompactionTask));
                return command.ExecuteScalar() as long? ?? 0;
            },
            ct);
}
