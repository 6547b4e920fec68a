using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>The one way the read side builds a command: SQL plus parameters bound by name (null binds SQL NULL).</summary>
internal static class SqliteCommands
{
    public static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }
}
