using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>The writer connection's prepared statements: created through <see cref="SqliteCommands"/>, owned and finalized here.</summary>
internal sealed class WriterStatements(SqliteConnection connection) : IDisposable
{
    private readonly List<SqliteCommand> _commands = [];
    private readonly List<RawStatement> _statements = [];

    public SqliteConnection Connection => connection;

    public SqliteCommand Prepare(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = SqliteCommands.Prepared(connection, sql, parameters);
        _commands.Add(command);
        return command;
    }

    /// <summary>A statement of a per-row hot path, bound through SQLitePCL (see <see cref="RawStatement"/>).</summary>
    public RawStatement PrepareRaw(string sql)
    {
        var statement = new RawStatement(connection, sql);
        _statements.Add(statement);
        return statement;
    }

    public void Dispose()
    {
        foreach (var statement in _statements)
        {
            statement.Dispose();
        }

        _statements.Clear();
        foreach (var command in _commands)
        {
            command.Dispose();
        }

        _commands.Clear();
    }
}
