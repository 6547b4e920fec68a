using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// <see cref="ISourcePriorityStore"/> on PostgreSQL (migration 5): the order as an int[] column of the user's row (a
/// handful of small numbers, read whole with every GetAggregates of the user), written in one statement of its own.
/// </summary>
internal sealed class PgSourcePriorities(NpgsqlDataSource dataSource)
{
    /// <summary>Migration 5 (with <see cref="PgRetention.ProgressMigrationSql"/>): users.source_priority ('{}' while the user stored none).</summary>
    public const string MigrationSql = "ALTER TABLE users ADD COLUMN source_priority int[] NOT NULL DEFAULT '{}';";

    public async Task<IReadOnlyList<int>?> ReadAsync(string userId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, "SELECT source_priority FROM users WHERE user_id = @u", Value("u", userId));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? reader.GetFieldValue<int[]>(0) : null;
    }

    public async Task<bool> WriteAsync(string userId, int[] kinds, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(
            connection, "UPDATE users SET source_priority = @kinds WHERE user_id = @u", Value("u", userId), Array("kinds", NpgsqlDbType.Integer, kinds));
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }
}
