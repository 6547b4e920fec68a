using HealthGrpc.Contracts;
using HealthGrpc.Storage.Tests;
using Npgsql;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>
/// Migration 7 on a database as version 6 left it: samples in the rollups, stored series not. The series rows are
/// written by SQL the way version 6 stored them (no rollups), then the schema is marked version 6 again; reopening
/// migrates, and the rollups must equal a twin user's who sent the same series through the store.
/// </summary>
public sealed class SeriesRollupsUpgradeTests
{
    private const long Start = 1_700_010_000_000; // a bucket boundary

    [Fact]
    public async Task AStoreOfVersion6_GetsItsStoredSeriesCountedInTheRollups()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        var random = new Random(7);
        var samples = Enumerable.Range(0, 50).Select(_ => Sample(start: Start + random.NextInt64(0, 4 * 900_000), value: random.Next(40, 180))).ToList();
        var series = new[]
        {
            Series(Enumerable.Range(0, 3_000).Select(i => new SeriesPoint(Start + 500 + i * 1_000L, 50 + random.Next(0, 100))).ToArray()),
            Series(Enumerable.Range(0, 200).Select(i => new SeriesPoint(Start + 40_000 + i * 7_000L, 600 + random.Next(0, 900))).ToArray(), exponent: -1, source: Phone),
        };

        // The twin's rollups are read before the downgrade: the migration adds every stored series, the twin's too.
        IReadOnlyList<RollupRecord> twin;
        await using (var store = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options).T30())
        {
            Assert.IsType<CommitOutcome.Committed>(await store.CommitAsync(Batch("twin", "d", 1, samples, series: series), CancellationToken.None).T30());
            Assert.IsType<CommitOutcome.Committed>(await store.CommitAsync(Batch("old", "d", 1, samples), CancellationToken.None).T30());
            twin = await store.ReadRollupsAsync("twin", HeartRate, long.MinValue, long.MaxValue, CancellationToken.None).T30();
        }

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync().T30();
            await using var downgrade = new NpgsqlCommand(
                """
                INSERT INTO series (user_ref, uuid, seq, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, end_ms, zone, point_count, payload)
                SELECT u.id, s.uuid, u.change_seq + s.n, s.type, NULL, un.id, so.id, d.id, s.start_ms, s.end_ms, 60, s.points, s.payload
                FROM unnest(@uuids, @types, @starts, @ends, @points, @payloads, @sourceNames) WITH ORDINALITY
                    AS s(uuid, type, start_ms, end_ms, points, payload, source_name, n)
                JOIN sources so ON so.name = s.source_name
                JOIN users u ON u.user_id = 'old'
                JOIN devices d ON d.user_ref = u.id
                JOIN units un ON un.unit = 'count/min';
                UPDATE users SET change_seq = change_seq + cardinality(@uuids) WHERE user_id = 'old';
                DROP INDEX series_user_type_source_end;
                DELETE FROM schema_migrations WHERE version = 7;
                """,
                connection);
            BindSeries(downgrade, series);
            await downgrade.ExecuteNonQueryAsync().T30();
        }

        await using (var store = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options).T30())
        {
            var migrated = await store.ReadRollupsAsync("old", HeartRate, long.MinValue, long.MaxValue, CancellationToken.None).T30();
            Assert.Equal(samples.Count + series.Sum(s => s.PointCount), twin.Sum(r => r.Count));
            ExpectedRollups.AssertEqual(twin, migrated);
        }

        static void BindSeries(NpgsqlCommand c, SeriesRecord[] series)
        {
            c.Parameters.AddWithValue("uuids", series.Select(s => s.Uuid).ToArray());
            c.Parameters.AddWithValue("types", series.Select(s => s.Type).ToArray());
            c.Parameters.AddWithValue("starts", series.Select(s => s.StartUnixMs).ToArray());
            c.Parameters.AddWithValue("ends", series.Select(s => s.EndUnixMs).ToArray());
            c.Parameters.AddWithValue("points", series.Select(s => s.PointCount).ToArray());
            c.Parameters.AddWithValue("payloads", series.Select(s => s.Payload).ToArray());
            c.Parameters.AddWithValue("sourceNames", series.Select(s => s.Source.Name).ToArray());
        }
    }
}
