using System.Buffers.Binary;
using System.Diagnostics;
using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HealthGrpc.LoadTest;

/// <summary>
/// The raw-insert limit of candidate samples layouts side by side in one run: each layout gets a fresh file with the
/// store's pragmas, is filled to each checkpoint size, and at each checkpoint the insert rate of new rows with random
/// v4 uuids (the shape of real ingest: new times, random ids) is timed. The fill is not timed and inserts its uuids in
/// ascending order (fast for every layout), spread over the whole key space so later random uuids land everywhere in
/// the dedup B-tree, as they do in a table filled by real ingest.
/// </summary>
internal static class LayoutComparison
{
    private const int Users = 8;
    private const int RowsPerUserChunk = 5_000;
    private const int RowsPerTransaction = 50_000;
    private const long StartMs = 1_700_000_000_000;

    /// <summary>One candidate: its name and how it turns a fresh file into its schema.</summary>
    private sealed record Layout(string Name, Action<SqliteConnection> Create);

    private static readonly Layout[] Layouts =
    [
        new("old: (user, uuid) WITHOUT ROWID + seq, sync, (user, type, start) indexes (migrations 1-3)",
            connection => SqliteSchema.Migrate(connection, 3)),
        new("new: (user, type, start, seq) WITHOUT ROWID + unique (user, uuid), seq, sync indexes (migration 4)",
            connection => SqliteSchema.Migrate(connection, 4)),
        new("rowid: append-only rowid table + (user, type, start), unique (user, uuid), seq, sync indexes",
            connection =>
            {
                SqliteSchema.Migrate(connection, 3);
                Execute(connection, """
                    DROP TABLE samples;
                    CREATE TABLE samples (
                        id INTEGER PRIMARY KEY, user_ref INTEGER NOT NULL, type INTEGER NOT NULL, start_ms INTEGER NOT NULL,
                        seq INTEGER NOT NULL, uuid BLOB NOT NULL, vendor_type TEXT, end_ms INTEGER NOT NULL, zone INTEGER,
                        quantity REAL, category INTEGER, unit_ref INTEGER NOT NULL, source_ref INTEGER NOT NULL,
                        device_ref INTEGER NOT NULL, sync_id TEXT, sync_version INTEGER, metadata TEXT);
                    CREATE INDEX samples_user_type_start ON samples (user_ref, type, start_ms);
                    """ + SqliteSchema.SamplesIndexes);
            }),
    ];

    public static int Run(IReadOnlyList<long> sizes, int measuredRows, IReadOnlyList<string> only, int? cacheMiB)
    {
        Console.WriteLine($"layout comparison: {Users} users x heart rate at 1 Hz, {RowsPerUserChunk:N0}-row chunks per user, " +
                          $"{RowsPerTransaction:N0}-row transactions, {measuredRows:N0} timed random-uuid rows at each size");
        var options = new SqliteStoreOptions();
        options = cacheMiB is { } mib ? options with { WriterCacheKiB = mib * 1024 } : options;
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {LoadAverage()}; writer page cache {options.WriterCacheKiB / 1024} MiB");
        var candidates = new List<Candidate>();
        try
        {
            foreach (var layout in Layouts)
            {
                if (only.Count == 0 || only.Any(name => layout.Name.StartsWith(name + ':', StringComparison.Ordinal)))
                {
                    candidates.Add(new Candidate(layout, options));
                }
            }

            // Size by size, layout after layout: the timed phases of one size run minutes apart at most, so a change
            // of the shared machine's load skews the ratios less than running each layout to the end in turn.
            var results = new List<(string Layout, long Size, double RowsPerSecond, double RowsPerCpuSecond)>();
            for (var stage = 0; stage < sizes.Count; stage++)
            {
                foreach (var candidate in candidates)
                {
                    var fill = sizes[stage] - candidate.Rows;
                    var fillTime = Stopwatch.StartNew();
                    candidate.Writer.Fill(fill, stage);
                    var fillSeconds = fillTime.Elapsed.TotalSeconds;

                    var random = new Random(unchecked((int)sizes[stage]));
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var timed = Stopwatch.StartNew();
                    candidate.Writer.Insert(measuredRows, _ => RandomUuid(random), RowsPerTransaction);
                    var elapsed = timed.Elapsed.TotalSeconds;
                    var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
                    candidate.Rows = sizes[stage] + measuredRows;
                    results.Add((candidate.Layout.Name, sizes[stage], measuredRows / elapsed, measuredRows / cpuSeconds));
                    Console.WriteLine($"  {candidate.Layout.Name.Split(':')[0],-6} at {sizes[stage],12:N0} rows: {measuredRows / elapsed,10:N0} rows/s, " +
                                      $"{measuredRows / cpuSeconds,10:N0} rows/CPU-s (fill {fill:N0} rows in {fillSeconds:N0} s, " +
                                      $"file {new FileInfo(candidate.Path).Length / (1024 * 1024):N0} MiB, load {LoadAverage()})");
                }
            }

            Console.WriteLine();
            Console.WriteLine("| layout | rows in table | rows/s | rows per CPU-s | vs old at that size (wall, CPU) |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var r in results)
            {
                var old = results.FirstOrDefault(o => o.Size == r.Size && o.Layout.StartsWith("old", StringComparison.Ordinal));
                var ratio = old.RowsPerSecond > 0
                    ? $"{r.RowsPerSecond / old.RowsPerSecond:0.00}x, {r.RowsPerCpuSecond / old.RowsPerCpuSecond:0.00}x"
                    : "-";
                Console.WriteLine($"| {r.Layout} | {r.Size:N0} | {r.RowsPerSecond:N0} | {r.RowsPerCpuSecond:N0} | {ratio} |");
            }
        }
        finally
        {
            foreach (var candidate in candidates)
            {
                candidate.Dispose();
            }
        }

        return 0;
    }

    /// <summary>A layout's file, its open writer connection and how many rows it holds.</summary>
    private sealed class Candidate : IDisposable
    {
        private readonly SqliteConnection _connection;

        public Candidate(Layout layout, SqliteStoreOptions options)
        {
            Layout = layout;
            Path = ServerUnderTest.FreshDatabasePath("layout.db");
            _connection = SqliteSchema.OpenWriter(Path, options.BusyTimeout, options.WriterCacheKiB);
            layout.Create(_connection);
            Execute(_connection, """
                INSERT INTO units (id, unit) VALUES (1, 'count/min');
                INSERT INTO sources (id, kind, name, manufacturer, model, hardware_version, software_version, app_id)
                VALUES (1, 1, 'watch', 'Apple', 'Watch7,1', '', '11.0', 'com.apple.health');
                """);
            Writer = new RowWriter(_connection);
        }

        public Layout Layout { get; }

        public string Path { get; }

        public RowWriter Writer { get; }

        public long Rows { get; set; }

        public void Dispose()
        {
            Writer.Dispose();
            _connection.Dispose();
            SqliteConnection.ClearAllPools();
            Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: true);
        }
    }

    /// <summary>
    /// A timed row's uuid: random in the key space of the fill uuids. Fill uuids (generated in SQL by <see cref="RowWriter.Fill"/>): the j-th of a stage of n is j * (2^63 / n) in the
    /// high 8 bytes, so a stage is ascending and spread evenly over the key space [0, 2^63), with the stage number in
    /// the low bytes so no two stages collide. Timed uuids are random in the same space.
    /// </summary>
    private static Guid RandomUuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        bytes[0] &= 0x7F; // the fill's key space
        bytes[15] |= 0x80; // never equal to a fill uuid (their low byte is a small stage number)
        return new Guid(bytes, bigEndian: true);
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// The raw insert of RawInsertBaseline: one prepared INSERT bound by index through SQLitePCL, committed every
    /// given number of rows. Users take turns in chunks (as devices' batches do); each user's time
    /// and seq advance by one per row.
    /// </summary>
    private sealed class RowWriter : IDisposable
    {
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _insert;
        private readonly byte[] _uuid = new byte[16];
        private long _row;

        public RowWriter(SqliteConnection connection)
        {
            _db = connection.Handle!;
            Check(raw.sqlite3_prepare_v2(_db, """
                INSERT INTO samples (user_ref, uuid, seq, type, vendor_type, start_ms, end_ms, zone, quantity, category,
                                     unit_ref, source_ref, device_ref, sync_id, sync_version, metadata)
                VALUES (?1, ?2, ?3, 5, NULL, ?4, ?4, 60, ?5, NULL, 1, 1, ?1, NULL, NULL, NULL)
                """, out _insert));
        }

        /// <summary>
        /// Untimed fill, generated inside SQLite (no per-row interop) with the same rows the timed insert writes but
        /// ascending uuids (see <see cref="RandomUuid"/>), in large transactions without fsync (synchronous=OFF only here;
        /// the timed inserts run with the store's synchronous=FULL).
        /// </summary>
        public void Fill(long count, int stage)
        {
            Check(raw.sqlite3_exec(_db, "PRAGMA synchronous = OFF"));
            var stride = long.MaxValue / Math.Max(count, 1);
            for (long done = 0; done < count; done += 1_000_000)
            {
                var first = _row + done;
                var last = _row + Math.Min(count, done + 1_000_000) - 1;
                Check(raw.sqlite3_exec(_db, $"""
                    BEGIN IMMEDIATE;
                    WITH RECURSIVE n(r) AS (SELECT {first} UNION ALL SELECT r + 1 FROM n WHERE r < {last}),
                    rows(r, user_ref, seq) AS (
                        SELECT r, r / {RowsPerUserChunk} % {Users} + 1, r / {RowsPerUserChunk * Users} * {RowsPerUserChunk} + r % {RowsPerUserChunk} + 1
                        FROM n)
                    INSERT INTO samples (user_ref, uuid, seq, type, vendor_type, start_ms, end_ms, zone, quantity, category,
                                         unit_ref, source_ref, device_ref, sync_id, sync_version, metadata)
                    SELECT user_ref, unhex(printf('%016x%016x', (r - {_row}) * {stride}, {stage + 1})), seq, 5, NULL,
                           {StartMs} + seq * 1000, {StartMs} + seq * 1000, 60, 60 + seq % 80, NULL, 1, 1, user_ref, NULL, NULL, NULL
                    FROM rows;
                    COMMIT;
                    """));
            }

            _row += count;
            Check(raw.sqlite3_exec(_db, "PRAGMA synchronous = FULL"));
        }

        public void Insert(long count, Func<long, Guid> uuid, int rowsPerTransaction)
        {
            Check(raw.sqlite3_exec(_db, "BEGIN IMMEDIATE"));
            for (long i = 0; i < count; i++, _row++)
            {
                var user = (int)(_row / RowsPerUserChunk % Users);
                var seq = _row / (RowsPerUserChunk * Users) * RowsPerUserChunk + _row % RowsPerUserChunk + 1;
                uuid(i).TryWriteBytes(_uuid, bigEndian: true, out _);
                raw.sqlite3_bind_int64(_insert, 1, user + 1);
                raw.sqlite3_bind_blob(_insert, 2, _uuid);
                raw.sqlite3_bind_int64(_insert, 3, seq);
                raw.sqlite3_bind_int64(_insert, 4, StartMs + seq * 1000);
                raw.sqlite3_bind_double(_insert, 5, 60 + seq % 80);
                var rc = raw.sqlite3_step(_insert);
                raw.sqlite3_reset(_insert);
                if (rc != raw.SQLITE_DONE)
                {
                    Check(rc);
                }

                if ((i + 1) % rowsPerTransaction == 0)
                {
                    Check(raw.sqlite3_exec(_db, "COMMIT; BEGIN IMMEDIATE"));
                }
            }

            Check(raw.sqlite3_exec(_db, "COMMIT"));
        }

        public void Dispose() => _insert.Dispose();

        private void Check(int rc)
        {
            if (rc != raw.SQLITE_OK && rc != raw.SQLITE_DONE)
            {
                throw new InvalidOperationException($"SQLite error {rc}: {raw.sqlite3_errmsg(_db).utf8_to_string()}");
            }
        }
    }
}
