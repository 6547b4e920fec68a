using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// A small administrative write outside the ingest writer's group commit: one IMMEDIATE transaction (the write lock
/// taken first, so two writers never deadlock upgrading) on a fresh connection, off the caller's thread. SQLite's lock
/// and the busy timeout order it with the writer's commits and with other processes. Plain BEGIN/COMMIT statements, so
/// the commands need no transaction object.
/// </summary>
internal sealed class SqliteShortWrite(string writerConnectionString)
{
    public Task<T> RunAsync<T>(Func<SqliteConnection, T> work, CancellationToken ct) => Task.Run(
        () =>
        {
            using var connection = new SqliteConnection(writerConnectionString);
            connection.Open();
            Execute(connection, "BEGIN IMMEDIATE");
            try
            {
                var result = work(connection);
                Execute(connection, "COMMIT");
                return result;
            }
            catch
            {
                Execute(connection, "ROLLBACK");
                throw;
            }
        },
        ct);

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = Command(connection, sql);
        command.ExecuteNonQuery();
    }
}
