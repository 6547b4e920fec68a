using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// The one way the provider builds an ADO.NET command: SQL plus parameters bound by name. <see cref="Command"/> binds
/// values for a one-off statement (null binds SQL NULL); <see cref="Prepared"/> declares typed parameters for a
/// statement the writer runs many times (callers set <c>Parameters["$name"].Value</c> before each run).
/// </summary>
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

    public static SqliteCommand Prepared(SqliteConnection connection, string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        command.Prepare();
        return command;
    }

    /// <summary>Binds <paramref name="value"/> (null: SQL NULL) to the named parameter of a prepared command.</summary>
    public static void Bind(this SqliteCommand command, string name, object? value) => command.Parameters[name].Value = value ?? DBNull.Value;
}
