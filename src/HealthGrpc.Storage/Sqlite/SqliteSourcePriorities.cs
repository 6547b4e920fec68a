using System.Globalization;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// <see cref="ISourcePriorityStore"/> on SQLite (schema version 16): the order as a comma-separated list of kind numbers
/// in a column of the user's row (a handful of small numbers, read whole with every GetAggregates of the user).
/// </summary>
internal static class SqliteSourcePriorities
{
    /// <summary>Schema version 16: users.source_priority ('' while the user stored none).</summary>
    public const string MigrationSql = "ALTER TABLE users ADD COLUMN source_priority TEXT NOT NULL DEFAULT '';";

    public static IReadOnlyList<int>? Read(SqliteConnection connection, string userId)
    {
        using var command = Command(connection, "SELECT source_priority FROM users WHERE user_id = $user", ("$user", userId));
        return command.ExecuteScalar() is string stored ? Parse(stored) : null;
    }

    public static bool Write(SqliteConnection connection, string userId, IReadOnlyList<int> kinds)
    {
        using var command = Command(
            connection,
            "UPDATE users SET source_priority = $kinds WHERE user_id = $user",
            ("$user", userId),
            ("$kinds", string.Join(',', kinds.Select(kind => kind.ToString(CultureInfo.InvariantCulture)))));
        return command.ExecuteNonQuery() > 0;
    }

    private static int[] Parse(string stored) => stored.Length == 0
        ? []
        : Array.ConvertAll(stored.Split(','), kind => int.Parse(kind, NumberStyles.Integer, CultureInfo.InvariantCulture));
}
