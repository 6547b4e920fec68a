using Npgsql;
using NpgsqlTypes;

namespace HealthGrpc.Storage.Postgres;

/// <summary>Commands with parameters bound by name; arrays typed explicitly (they feed the set-based unnest statements).</summary>
internal static class PgSql
{
    public static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return command;
    }

    public static NpgsqlParameter Value<T>(string name, T value) => new NpgsqlParameter<T>(name, value);

    /// <summary>A nullable value (DBNull when null).</summary>
    public static NpgsqlParameter Nullable(string name, NpgsqlDbType type, object? value) =>
        new(name, type) { Value = value ?? DBNull.Value };

    public static NpgsqlParameter Array<T>(string name, NpgsqlDbType elementType, T[] values) =>
        new(name, NpgsqlDbType.Array | elementType) { Value = values };

    public static NpgsqlParameter Array<T>(string name, NpgsqlDbType elementType, List<T> values) =>
        Array(name, elementType, values.ToArray());

    /// <summary>A nullable unix-ms column as a time.</summary>
    public static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
}
