using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;
using Spectre.Console;

namespace HealthGrpc.LoadTest;

internal static class SyncApi
{
    public static CallOptions As(string token) => new(headers: new Metadata { { "authorization", "Bearer " + token } });
}

/// <summary>What one phase measured.</summary>
internal sealed record PhaseResult(
    string Name,
    long Samples,
    long UniqueSamples,
    long Duplicates,
    long Batches,
    TimeSpan Elapsed,
    long BytesSent,
    long BytesReceived,
    TimeSpan ServerCpu,
    double[] LatenciesMs,
    long AckedAccepted,
    long AckedDuplicates,
    int Errors,
    string? FirstError)
{
    public double SamplesPerSecond => UniqueSamples / Elapsed.TotalSeconds;

    public double Percentile(double p)
    {
        if (LatenciesMs.Length == 0)
        {
            return double.NaN;
        }

        var i = (int)Math.Ceiling(p / 100 * LatenciesMs.Length) - 1;
        return LatenciesMs[Math.Clamp(i, 0, LatenciesMs.Length - 1)];
    }
}

internal static class LoadRun
{
    private const string UserId = "bench-user";
    private static readonly Source WatchSource = new() { Kind = DeviceKind.Watch, Name = "Bench Watch", Manufacturer = "Acme" };

    public static async Task<int> RunAsync(Settings s, CancellationToken ct)
    {
        AnsiConsole.Profile.Width = 150;
        AnsiConsole.MarkupLine($"[bold]{s.Scenario}[/]: {s.Devices} devices x {s.SamplesPerDevice:N0} samples at {s.RateHz:0.###} Hz, batch {s.BatchSize}, {s.Encoding}, duplicates {s.DuplicateRatio:P0}, {s.InFlight} in flight, server {(s.InProc ? "in-process" : "child process")}");
        var path = ServerUnderTest.FreshDatabasePath("server.db");
        var token = await ServerUnderTest.CreateUserAsync(path, UserId);
        var phases = new List<PhaseResult>();
        long peakRss;
        long warmupUnique;
        await using (var server = await ServerUnderTest.StartAsync(path, s.InProc))
        using (var channel = WireCounter.CreateChannel(server.Address))
        {
            // Warm-up (JIT, connections, SQLite caches): counted in rows expected, not in the figures.
            var warm = s with { Devices = Math.Min(s.Devices, 8), SamplesPerDevice = Math.Min(s.SamplesPerDevice, 5_000), BatchSize = Math.Min(s.BatchSize, 1_000), DuplicateRatio = 0, Encoding = "discrete" };
            var warmup = await RunPhaseAsync("warmup", server, channel, token, warm, "warm", paceSamplesPerSecond: 0, ct);
            if (warmup.Errors > 0)
            {
                AnsiConsole.MarkupLine(Markup.Escape($"warm-up failed: {warmup.FirstError}"));
            }

            warmupUnique = warmup.UniqueSamples;
            var main = await RunPhaseAsync("max", server, channel, token, s, "dev", paceSamplesPerSecond: 0, ct);
            phases.Add(main);
            Print(main, s);
            if (s.LatencyPhase && main.Errors == 0)
            {
                var pace = main.SamplesPerSecond / 2;
                var perDeviceBatch = Math.Max(1, (int)Math.Round(pace / s.Devices));
                var half = s with { BatchSize = perDeviceBatch, SamplesPerDevice = (long)perDeviceBatch * s.LatencySeconds, DuplicateRatio = 0 };
                var paced = await RunPhaseAsync("half-load", server, channel, token, half, "half", pace, ct);
                phases.Add(paced);
                Print(paced, half);
            }

            peakRss = server.PeakRss();
        }

        // Rows stored vs expected, read back from the file after the server is gone.
        long stored;
        long storedPoints;
        await using (var store = await SqliteHealthStore.OpenAsync(path))
        {
            stored = await store.CountSamplesAsync(UserId, ct);
            storedPoints = s.Waveform ? StoredWaveformPoints(path) : await store.CountSeriesPointsAsync(UserId, ct);
        }

        var expectedRows = s.Points ? warmupUnique : phases.Sum(p => p.UniqueSamples) + warmupUnique;
        var expectedPoints = s.Points ? phases.Sum(p => p.UniqueSamples) : 0;

        // The storage limit in the same run: the same number of rows straight into the same schema.
        // Series: one row per series, so there is no same-rows baseline; compare points/s with 1M discrete rows/s.
        var rawRows = (int)Math.Min(phases[0].UniqueSamples, s.Points ? 1_000_000 : int.MaxValue);
        var rawPath = ServerUnderTest.FreshDatabasePath("raw.db");
        var rawElapsed = RawInsertBaseline.InsertSamples(rawPath, UserId, RawRows(rawRows, s.RateHz), 50_000);
        var rawPerSecond = rawRows / rawElapsed.TotalSeconds;

        // The naive pattern: one unary Upload (one batch, one sample) per sample.
        double naivePerSecond = double.NaN;
        if (s.NaiveSamples > 0)
        {
            naivePerSecond = await NaiveAsync(s.NaiveSamples, ct);
        }

        // What teams build without gRPC: a JSON batch endpoint over HTTP/1.1 on the same pipeline and store (discrete only),
        // with the run's devices (at most 64 connections) and batch size, by default on as many samples as the main phase:
        // SQLite slows as the table grows, so fewer rows would flatter the baseline.
        (double SamplesPerSecond, double BodyBytesPerSample, long Stored) jsonBaseline = (double.NaN, double.NaN, 0);
        long jsonExpected = 0;
        if (s.JsonSamples > 0 && !s.Points)
        {
            var jsonDevices = Math.Min(s.Devices, 64);
            var perDevice = Math.Min(s.JsonSamples, phases[0].UniqueSamples) / jsonDevices;
            jsonExpected = perDevice * jsonDevices;
            jsonBaseline = await JsonBaseline.RunAsync(jsonDevices, perDevice, s.BatchSize, ct);
        }

        var clientRss = ProcStatus.PeakRss(Environment.ProcessId);
        var main0 = phases[0];
        var table = new Table().AddColumn("figure").AddColumn(new TableColumn("value").RightAligned());
        void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
        var unit = s.Points ? "points/s" : "samples/s";
        Row($"ingest {unit} (acked, durable, dedup'd)", $"{main0.SamplesPerSecond:N0}");
        Row(s.Points ? $"storage limit discrete rows/s (RawInsertBaseline, {rawRows:N0} rows)" : "storage limit rows/s (RawInsertBaseline, same rows)", $"{rawPerSecond:N0}");
        Row("ratio ingest / storage limit", $"{main0.SamplesPerSecond / rawPerSecond:0.00}x");
        Row($"one-Upload-per-sample samples/s ({s.NaiveSamples:N0} samples)", $"{naivePerSecond:N0}");
        Row("ratio ingest / one-call-per-sample", $"{main0.SamplesPerSecond / naivePerSecond:0.0}x");
        if (jsonExpected > 0)
        {
            Row($"JSON-over-HTTP/1.1 batch endpoint samples/s ({jsonExpected:N0} samples, same pipeline and store)", $"{jsonBaseline.SamplesPerSecond:N0}");
            Row("ratio ingest / JSON endpoint", $"{main0.SamplesPerSecond / jsonBaseline.SamplesPerSecond:0.00}x");
            Row("JSON request body bytes/sample (headers not counted)", $"{jsonBaseline.BodyBytesPerSample:0.0}");
            Row("JSON rows stored / expected", $"{jsonBaseline.Stored:N0} / {jsonExpected:N0}");
        }

        Row("bytes/sample on the wire (client->server)", $"{(double)main0.BytesSent / main0.Samples:0.0}");
        Row("ack latency p50 / p95 / p99 ms (max phase)", $"{main0.Percentile(50):0.0} / {main0.Percentile(95):0.0} / {main0.Percentile(99):0.0}");
        if (phases.Count > 1)
        {
            var h = phases[1];
            Row($"ack latency p50 / p95 / p99 ms at half load ({h.SamplesPerSecond:N0}/s achieved)", $"{h.Percentile(50):0.0} / {h.Percentile(95):0.0} / {h.Percentile(99):0.0}");
        }

        Row($"server CPU (max phase){(s.InProc ? " [in-process: incl. client]" : "")}", $"{main0.ServerCpu.TotalSeconds:0.00} s = {main0.ServerCpu.TotalSeconds / main0.Elapsed.TotalSeconds * 100:0}% of 1 core; {main0.UniqueSamples / main0.ServerCpu.TotalSeconds:N0} {unit[..^2]}/CPU-s");
        Row($"server peak RSS{(s.InProc ? " [in-process: incl. client]" : "")}", $"{peakRss / 1048576.0:N0} MiB");
        Row("client peak RSS (pre-built batches)", $"{clientRss / 1048576.0:N0} MiB");
        Row("elapsed (max phase)", $"{main0.Elapsed.TotalSeconds:0.00} s, {main0.Batches:N0} batches");
        Row("rows stored / expected", $"{stored:N0} / {expectedRows:N0}");
        if (s.Points)
        {
            Row($"{(s.Waveform ? "waveform" : "series")} points stored / expected", $"{storedPoints:N0} / {expectedPoints:N0}");
        }

        Row("acked accepted / duplicates (expected dups), warm-up excluded", $"{phases.Sum(p => p.AckedAccepted):N0} / {phases.Sum(p => p.AckedDuplicates):N0} ({phases.Sum(p => p.Duplicates):N0})");
        Row("errors", $"{phases.Sum(p => p.Errors)}{(phases.FirstOrDefault(p => p.FirstError is not null)?.FirstError is { } e ? ": " + e : "")}");
        AnsiConsole.Write(table);

        var ok = stored == expectedRows && (!s.Points || storedPoints == expectedPoints) && jsonBaseline.Stored == jsonExpected && phases.Sum(p => p.Errors) == 0
            && phases.Sum(p => p.AckedDuplicates) == phases.Sum(p => p.Duplicates);
        AnsiConsole.MarkupLine(ok ? "[green]rows match exactly[/]" : "[red]MISMATCH: rows or acks differ from expected[/]");
        if (s.JsonPath is not null)
        {
            var json = JsonSerializer.Serialize(new
            {
                s.Scenario, s.Devices, s.RateHz, s.SamplesPerDevice, s.BatchSize, s.Encoding, s.DuplicateRatio, s.InProc,
                IngestPerSecond = main0.SamplesPerSecond, RawPerSecond = rawPerSecond, NaivePerSecond = naivePerSecond,
                JsonPerSecond = jsonBaseline.SamplesPerSecond, JsonBodyBytesPerSample = jsonBaseline.BodyBytesPerSample, JsonSamples = jsonExpected,
                BytesPerSample = (double)main0.BytesSent / main0.Samples,
                P50 = main0.Percentile(50), P95 = main0.Percentile(95), P99 = main0.Percentile(99),
                HalfLoad = phases.Count > 1 ? new { Rate = phases[1].SamplesPerSecond, P50 = phases[1].Percentile(50), P95 = phases[1].Percentile(95), P99 = phases[1].Percentile(99) } : null,
                ServerCpuSeconds = main0.ServerCpu.TotalSeconds, ElapsedSeconds = main0.Elapsed.TotalSeconds, PeakRssMiB = peakRss / 1048576.0,
                ClientRssMiB = clientRss / 1048576.0, Stored = stored, Expected = expectedRows, StoredPoints = storedPoints, ExpectedPoints = expectedPoints, Ok = ok,
                At = DateTimeOffset.UtcNow,
            }, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
            await File.AppendAllTextAsync(s.JsonPath, json + Environment.NewLine, ct);
        }

        return ok ? 0 : 1;
    }

    private static void Print(PhaseResult p, Settings s) =>
        AnsiConsole.MarkupLine(Markup.Escape($"[{p.Name}] {p.UniqueSamples:N0} {(s.Points ? "points" : "samples")} in {p.Elapsed.TotalSeconds:0.00} s = {p.SamplesPerSecond:N0}/s; p50 {p.Percentile(50):0.0} ms p99 {p.Percentile(99):0.0} ms; errors {p.Errors}"));

    /// <summary>Start time of the data so the newest sample is an hour in the past.</summary>
    private static long DataStartMs(long samples, double rateHz) =>
        DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000 - (long)(samples * 1000 / rateHz);

    private static long Value(long j) => 55 + (j * 7 % 60);

    private static IReadOnlyList<SampleRecord> RawRows(int count, double rateHz)
    {
        var source = new SourceRecord((int)DeviceKind.Watch, "Bench Watch", "Acme", "", "", "", "");
        var start = DataStartMs(count, rateHz);
        var step = 1000 / rateHz;
        var rows = new SampleRecord[count];
        for (var j = 0; j < count; j++)
        {
            var t = start + (long)(j * step);
            rows[j] = new SampleRecord(Guid.NewGuid(), (int)DataType.HeartRate, null, t, t, null, Value(j), null, "count/min", source, null, 0, null);
        }

        return rows;
    }

    /// <summary>
    /// One ECG recording per device: a synthetic 72 bpm single-lead trace in µV at <see cref="Settings.RateHz"/> Hz,
    /// delta-encoded, split into chunks of <see cref="Settings.BatchSize"/> points (one chunk per batch).
    /// </summary>
    private static List<Batch> BuildWaveformBatches(Settings s, long startMs, out long sent)
    {
        var batches = new List<Batch>();
        var uuid = SampleUuid.ToByteString(Guid.NewGuid());
        var chunks = (uint)((s.SamplesPerDevice + s.BatchSize - 1) / s.BatchSize);
        var previous = 0;
        sent = 0;
        for (uint c = 0; c < chunks; c++)
        {
            var first = (long)c * s.BatchSize;
            var n = (int)Math.Min(s.BatchSize, s.SamplesPerDevice - first);
            var chunk = new Waveform
            {
                Uuid = uuid,
                Type = DataType.Ecg,
                Source = WatchSource,
                StartTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(startMs)),
                SamplingFrequencyHz = s.RateHz,
                Lead = EcgLead.AppleWatchSimilarToLeadI,
                Unit = "uV",
                ChunkIndex = c,
                ChunkCount = chunks,
                FirstSampleIndex = (ulong)first,
            };
            for (var k = 0; k < n; k++)
            {
                var t = (first + k) / s.RateHz;
                var beat = t % (60.0 / 72);
                // A narrow QRS spike on a slow baseline wander: deltas stay small, as in real ECG.
                var microvolts = (int)((Math.Exp(-Math.Pow((beat - 0.2) / 0.012, 2)) * 1200) + (Math.Sin(t * 0.7) * 80));
                chunk.VoltageDeltas.Add(microvolts - previous);
                previous = microvolts;
            }

            batches.Add(new Batch { BatchSeq = c + 1UL, Waveforms = { chunk } });
            sent += n;
        }

        return batches;
    }

    /// <summary>Waveform points stored (the store has no count for them; read the file directly).</summary>
    private static long StoredWaveformPoints(string path)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(sum(point_count), 0) FROM waveforms";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Pre-builds one device's batches (so the measured window holds no data generation).</summary>
    private static List<Batch> BuildBatches(Settings s, out long sent, out long duplicates)
    {
        var batches = new List<Batch>();
        sent = 0;
        duplicates = 0;
        var startMs = DataStartMs(s.SamplesPerDevice, s.RateHz);
        var step = 1000 / s.RateHz;
        ulong seq = 0;
        if (s.Waveform)
        {
            return BuildWaveformBatches(s, startMs, out sent);
        }

        if (s.Series)
        {
            var points = new SeriesPoint[s.BatchSize];
            for (long j = 0; j < s.SamplesPerDevice; j += s.BatchSize)
            {
                var n = (int)Math.Min(s.BatchSize, s.SamplesPerDevice - j);
                for (var k = 0; k < n; k++)
                {
                    points[k] = new SeriesPoint(startMs + (long)((j + k) * step), Value(j + k));
                }

                var series = new Series { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), Type = DataType.HeartRate, Unit = "count/min", Source = WatchSource };
                SeriesColumns.Encode(series, points.AsSpan(0, n));
                batches.Add(new Batch { BatchSeq = ++seq, Series = { series } });
                sent += n;
            }

            return batches;
        }

        var dupPerBatch = (int)Math.Round(s.BatchSize * s.DuplicateRatio);
        var newPerBatch = Math.Max(1, s.BatchSize - dupPerBatch);
        List<Sample>? previous = null;
        for (long j = 0; j < s.SamplesPerDevice; j += newPerBatch)
        {
            var n = (int)Math.Min(newPerBatch, s.SamplesPerDevice - j);
            var baseMs = startMs + (long)(j * step);
            var set = new SampleSet { Type = DataType.HeartRate, Unit = "count/min", BaseTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(baseMs)), Source = WatchSource };
            var fresh = new List<Sample>(n);
            for (var k = 0; k < n; k++)
            {
                fresh.Add(new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), StartOffsetMs = (long)((j + k) * step) - (long)(j * step), ScaledValue = Value(j + k) });
            }

            var batch = new Batch { BatchSeq = ++seq, Anchors = { new SourceAnchor { Type = DataType.HeartRate, Anchor = ByteString.CopyFromUtf8($"a{seq}") } } };
            set.Samples.Add(fresh);
            batch.SampleSets.Add(set);
            if (previous is not null && dupPerBatch > 0)
            {
                // Re-send the tail of the previous batch, exactly as sent (same uuid and content), in its own set.
                var prevSet = batches[^1].SampleSets[0];
                var dupSet = new SampleSet { Type = DataType.HeartRate, Unit = "count/min", BaseTime = prevSet.BaseTime, Source = WatchSource };
                var take = Math.Min(dupPerBatch, previous.Count);
                dupSet.Samples.Add(previous.GetRange(previous.Count - take, take));
                batch.SampleSets.Add(dupSet);
                duplicates += take;
                sent += take;
            }

            batches.Add(batch);
            sent += n;
            previous = fresh;
        }

        return batches;
    }

    private static async Task<PhaseResult> RunPhaseAsync(string name, ServerUnderTest server, GrpcChannel channel, string token, Settings s, string prefix, double paceSamplesPerSecond, CancellationToken ct)
    {
        AnsiConsole.MarkupLine(Markup.Escape($"[{name}] building {s.Devices} x {s.SamplesPerDevice:N0} {(s.Points ? "points" : "samples")}..."));
        var perDevice = new List<Batch>[s.Devices];
        long sent = 0, dups = 0;
        for (var d = 0; d < s.Devices; d++)
        {
            perDevice[d] = BuildBatches(s, out var ds, out var dd);
            sent += ds;
            dups += dd;
        }

        var unique = (long)s.Devices * s.SamplesPerDevice;
        var totalBatches = perDevice.Sum(b => b.Count);
        var latencies = new List<double>[s.Devices];
        long accepted = 0, ackDups = 0, ackedBatches = 0;
        var errors = 0;
        string? firstError = null;
        // Paced: every device sends one batch per interval, staggered across devices.
        var interval = paceSamplesPerSecond > 0 ? TimeSpan.FromSeconds(s.Devices * (double)s.BatchSize / paceSamplesPerSecond) : TimeSpan.Zero;

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var bytesSent0 = WireCounter.Sent;
        var bytesReceived0 = WireCounter.Received;
        var cpu0 = server.CpuTime();
        var clock = Stopwatch.StartNew();
        using var progressStop = new CancellationTokenSource();
        var progress = Task.Run(async () =>
        {
            while (!progressStop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(1000, progressStop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                Console.Error.WriteLine($"  {clock.Elapsed.TotalSeconds,6:0.0}s  acked batches {Interlocked.Read(ref ackedBatches):N0}/{totalBatches:N0}  accepted {Interlocked.Read(ref accepted):N0}  {Interlocked.Read(ref accepted) / clock.Elapsed.TotalSeconds:N0}/s");
            }
        });

        async Task DeviceAsync(int d)
        {
            var batches = perDevice[d];
            var lat = latencies[d] = new List<double>(batches.Count);
            var sentAt = new long[batches.Count + 1];
            using var slots = new SemaphoreSlim(s.InFlight);
            using var call = new SyncService.SyncServiceClient(channel).Sync(SyncApi.As(token));
            var responses = call.ResponseStream.ReadAllAsync(ct).GetAsyncEnumerator(ct);
            try
            {
                await call.RequestStream.WriteAsync(new SyncRequest { Hello = new Hello { Device = new DeviceIdentity { DeviceId = $"{prefix}-{d}", Epoch = 1 }, SdkVersion = "loadtest/1.0" } });
                if (!await responses.MoveNextAsync() || responses.Current.Welcome is null)
                {
                    throw new InvalidOperationException("no Welcome");
                }

                var reader = Task.Run(async () =>
                {
                    for (var i = 0; i < batches.Count; i++)
                    {
                        if (!await responses.MoveNextAsync())
                        {
                            throw new InvalidOperationException($"stream ended after {i} acks");
                        }

                        var ack = responses.Current.Ack ?? throw new InvalidOperationException($"expected an ack, got {responses.Current.KindCase}");
                        lat.Add(Stopwatch.GetElapsedTime(sentAt[ack.BatchSeq]).TotalMilliseconds);
                        if (ack.Outcome != AckOutcome.Committed)
                        {
                            throw new InvalidOperationException($"batch {ack.BatchSeq}: {ack.Outcome}");
                        }

                        Interlocked.Add(ref accepted, ack.Accepted);
                        Interlocked.Add(ref ackDups, ack.Duplicates);
                        Interlocked.Increment(ref ackedBatches);
                        slots.Release();
                    }
                });

                var due = clock.Elapsed + (interval * d / s.Devices);
                foreach (var batch in batches)
                {
                    if (interval > TimeSpan.Zero)
                    {
                        var wait = due - clock.Elapsed;
                        if (wait > TimeSpan.Zero)
                        {
                            await Task.Delay(wait, ct);
                        }

                        due += interval;
                    }

                    await slots.WaitAsync(ct);
                    sentAt[batch.BatchSeq] = Stopwatch.GetTimestamp();
                    await call.RequestStream.WriteAsync(new SyncRequest { Batch = batch });
                }

                await reader;
                await call.RequestStream.CompleteAsync();
                // Read up to the trailers: a call disposed before them resets the stream, which the server rightly
                // counts and logs as a client abort (~1,000 per run, noise in its CPU and logs, not in a real app).
                if (await responses.MoveNextAsync())
                {
                    throw new InvalidOperationException($"expected the end of the call, got {responses.Current.KindCase}");
                }
            }
            catch (Exception e)
            {
                if (Interlocked.Increment(ref errors) == 1)
                {
                    firstError = $"device {d}: {e.GetType().Name}: {e.Message}";
                }
            }
        }

        var tasks = new Task[s.Devices];
        for (var d = 0; d < s.Devices; d++)
        {
            var device = d;
            tasks[d] = Task.Run(() => DeviceAsync(device), ct);
        }

        await Task.WhenAll(tasks);
        var elapsed = clock.Elapsed;
        var cpu = server.CpuTime() - cpu0;
        await progressStop.CancelAsync();
        await progress;
        var all = latencies.Where(l => l is not null).SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new PhaseResult(name, sent, unique, dups, totalBatches, elapsed, WireCounter.Sent - bytesSent0, WireCounter.Received - bytesReceived0, cpu, all, accepted, ackDups, errors, firstError);
    }

    /// <summary>One unary Upload per sample (each its own one-sample batch), 16 devices concurrently, on its own fresh server.</summary>
    private static async Task<double> NaiveAsync(int samples, CancellationToken ct)
    {
        var path = ServerUnderTest.FreshDatabasePath("naive.db");
        var token = await ServerUnderTest.CreateUserAsync(path, UserId);
        await using var server = await ServerUnderTest.StartAsync(path, inProc: false);
        using var channel = WireCounter.CreateChannel(server.Address);
        var client = new SyncService.SyncServiceClient(channel);
        const int concurrency = 16;
        var perDevice = samples / concurrency;
        var startMs = DataStartMs(samples, 1);
        var requests = new UploadRequest[concurrency][];
        for (var d = 0; d < concurrency; d++)
        {
            requests[d] = new UploadRequest[perDevice];
            for (var i = 0; i < perDevice; i++)
            {
                var set = new SampleSet { Type = DataType.HeartRate, Unit = "count/min", BaseTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(startMs + (i * 1000L))), Source = WatchSource };
                set.Samples.Add(new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), ScaledValue = Value(i) });
                requests[d][i] = new UploadRequest { Device = new DeviceIdentity { DeviceId = $"naive-{d}", Epoch = 1 }, Batch = new Batch { BatchSeq = (ulong)i + 1, SampleSets = { set } } };
            }
        }

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(d => Task.Run(async () =>
        {
            foreach (var request in requests[d])
            {
                var response = await client.UploadAsync(request, SyncApi.As(token));
                if (response.Ack.Outcome != AckOutcome.Committed || response.Ack.Accepted != 1)
                {
                    throw new InvalidOperationException($"naive upload: {response.Ack}");
                }
            }
        }, ct)));
        return perDevice * concurrency / clock.Elapsed.TotalSeconds;
    }
}
