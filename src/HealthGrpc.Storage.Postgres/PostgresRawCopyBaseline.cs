using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// The physical limit benchmarks compare the store against: the same sample rows binary-COPied straight into the same
/// samples table (same schema, same indexes, synchronous commit), 50,000-row transactions, none of the store's logic
/// (no dedup lookups, no sequences from the users' counters, no rollups, no batch rows).
/// </summary>
public static class PostgresRawCopyBaseline
{
    private const int RowsPerTransaction = 50_000;

    /// <summary>Migrates the database of <paramref name="connectionString"/> and COPies the samples for one user; returns the rows written.</summary>
    public static async Task<int> CopySamplesAsync(string connectionString, string userId, IReadOnlyList<SampleRecord> samples, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await PostgresSchema.MigrateAsync(connection, ct).ConfigureAwait(false);
        long userRef;
        await using (var setup = Command(
            connection,
            """
            INSERT INTO users (user_id, created_ms) VALUES (@u, 0) ON CONFLICT (user_id) DO UPDATE SET created_ms = 0 RETURNING id
            """,
            Value("u", userId)))
        {
            userRef = (long)(await setup.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }

        for (var offset = 0; offset < samples.Count; offset += RowsPerTransaction)
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (var copy = await connection.BeginBinaryImportAsync(
                "COPY samples (user_ref, type, start_ms, seq, uuid, end_ms, zone, quantity, unit_ref, source_ref, device_ref) FROM STDIN (FORMAT BINARY)",
                ct).ConfigureAwait(false))
            {
                for (var i = offset; i < Math.Min(samples.Count, offset + RowsPerTransaction); i++)
                {
                    var sample = samples[i];
                    await copy.StartRowAsync(ct).ConfigureAwait(false);
                    await copy.WriteAsync(userRef, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                    await copy.WriteAsync(sample.Type, NpgsqlDbType.Integer, ct).ConfigureAwait(false);
                    await copy.WriteAsync(sample.StartUnixMs, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                    await copy.WriteAsync(i + 1L, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                    await copy.WriteAsync(sample.Uuid, NpgsqlDbType.Uuid, ct).ConfigureAwait(false);
                    await copy.WriteAsync(sample.EndUnixMs, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                    await copy.WriteAsync(sample.ZoneOffsetMinutes ?? 0, NpgsqlDbType.Integer, ct).ConfigureAwait(false);
                    await copy.WriteAsync(sample.Quantity ?? 0, NpgsqlDbType.Double, ct).ConfigureAwait(false);
                    await copy.WriteAsync(1L, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                    await copy.WriteAsync(1L, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                    await copy.WriteAsync(1L, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                }

                await copy.CompleteAsync(ct).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }

        return samples.Count;
    }
}
