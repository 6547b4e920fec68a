using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Baselines;

/// <summary>
/// Counts what a SQLite store file holds with its own read-only connection, outside the store: benchmarks check that
/// every sample they sent was stored, tests check what a call stored. The product never needs the count, so it is not
/// part of <see cref="IHealthStore"/>.
/// </summary>
public static class SqliteStoredCounts
{
    /// <summary>Stored discrete samples of the user in the store file at <paramref name="path"/> (series and waveforms not included).</summary>
    public static long CountSamples(string path, string userId)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM samples WHERE user_ref = (SELECT id FROM users WHERE user_id = $user)";
        command.Parameters.AddWithValue("$user", userId);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// <see cref="CountSamples"/> of a <see cref="SqliteHealthStore"/>'s file, off the caller's thread (the other
    /// providers' tests count through their own connection).
    /// </summary>
    public static Task<long> CountSamplesAsync(this IHealthStore store, string userId, CancellationToken ct)
    {
        var path = store is SqliteHealthStore sqlite
            ? sqlite.Path
            : throw new NotSupportedException($"Counting stored samples needs a SqliteHealthStore, not {store.GetType().Name}.");
        return Task.Run(() => CountSamples(path, userId), ct);
    }
}
