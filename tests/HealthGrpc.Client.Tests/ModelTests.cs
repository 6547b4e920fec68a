using System.Text;
using Google.Protobuf;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Client.Tests;

/// <summary>Series, waveforms, records and deletions through the SDK, against the real server.</summary>
public sealed class ModelTests
{
    private static readonly Source Strap = new() { Kind = DeviceKind.Wearable, Name = "strap", Manufacturer = "Polar", Model = "H10" };

    [Fact]
    public void SeriesEncoder_PacksAndDecodes_RegularAndIrregular_AndSplitsWithStableUuids()
    {
        var start = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.FromHours(1));
        var values = Enumerable.Range(0, 25).Select(i => 60.0 + (i % 7)).ToArray();
        var uuid = Guid.NewGuid();
        var parts = SeriesEncoder.Regular(uuid, DataType.HeartRate, start, TimeSpan.FromSeconds(1), values, Strap, maxPoints: 10);
        Assert.Equal([10, 10, 5], parts.Select(p => p.ValueDeltas.Count));
        Assert.Equal(uuid, SampleUuid.ToGuid(parts[0].Uuid));
        Assert.Equal(3, parts.Select(p => p.Uuid).Distinct().Count());
        Assert.Equal(parts.Select(p => p.Uuid), SeriesEncoder.Regular(uuid, DataType.HeartRate, start, TimeSpan.FromSeconds(1), values, Strap, maxPoints: 10).Select(p => p.Uuid));
        Assert.All(parts, p => Assert.Empty(p.TimeDeltasMs)); // regular: only the values travel
        Assert.Equal(60, parts[0].ZoneOffsetMinutes);
        var decoded = parts.SelectMany(SeriesEncoder.Decode).ToList();
        Assert.Equal(values, decoded.Select(p => p.Value));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => start.AddSeconds(i).ToUnixTimeMilliseconds()), decoded.Select(p => p.Time.ToUnixTimeMilliseconds()));

        var rr = new[] { new SeriesPoint(start, 0.812), new SeriesPoint(start.AddMilliseconds(812), 0.795), new SeriesPoint(start.AddMilliseconds(1607), 0.801) };
        var packed = Assert.Single(SeriesEncoder.Irregular(Guid.NewGuid(), DataType.RrInterval, rr, Strap, decimalExponent: -3, unit: "s"));
        Assert.Equal([812L, -17, 6], packed.ValueDeltas);
        Assert.Equal([0L, 812, 795], packed.TimeDeltasMs);
        Assert.Equal(rr.Select(p => p.Value), SeriesEncoder.Decode(packed).Select(p => Math.Round(p.Value, 3)));
        Assert.Throws<ArgumentException>(() => SeriesEncoder.Irregular(Guid.NewGuid(), DataType.RrInterval, [rr[1], rr[0]], Strap));
        Assert.Throws<ArgumentException>(() => SeriesEncoder.Regular(Guid.NewGuid(), DataType.HeartRate, start, TimeSpan.FromSeconds(1), [double.NaN], Strap));
    }

    [Fact]
    public void WaveformEncoder_ChunksAndDecodes()
    {
        var voltages = Enumerable.Range(0, 20_000).Select(i => Math.Round(800 * Math.Sin(i / 40.0))).ToArray();
        var uuid = Guid.NewGuid();
        var chunks = WaveformEncoder.Encode(uuid, DateTimeOffset.UtcNow.AddMinutes(-5), 512, voltages, Strap, EcgLead.AppleWatchSimilarToLeadI);
        Assert.Equal(3, chunks.Count);
        Assert.All(chunks, c => Assert.Equal(uuid, SampleUuid.ToGuid(c.Uuid)));
        Assert.Equal([0u, 1u, 2u], chunks.Select(c => c.ChunkIndex));
        Assert.All(chunks, c => Assert.Equal(3u, c.ChunkCount));
        Assert.Equal([0ul, 8192ul, 16384ul], chunks.Select(c => c.FirstSampleIndex));
        Assert.Equal(voltages, chunks.SelectMany(WaveformEncoder.Decode));
    }

    [Fact]
    public async Task SeriesWaveformsDeletionsAndRecords_ReachTheServer()
    {
        await using var server = await TestServer.StartAsync();
        var (client, events) = await TestClient.OpenAsync(TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token));
        await using (client)
        {
            var start = DateTimeOffset.UtcNow.AddHours(-2);
            var heartRate = Enumerable.Range(0, 3600).Select(i => 55.0 + (i % 50)).ToArray();
            var rr = Enumerable.Range(0, 100).Select(i => new SeriesPoint(start.AddMilliseconds(i * 800), 0.8)).ToArray();
            var ecg = Enumerable.Range(0, 15_360).Select(i => Math.Round(500 * Math.Sin(i / 30.0))).ToArray();
            var content = new HealthContent();
            foreach (var s in SeriesEncoder.Regular(Guid.NewGuid(), DataType.HeartRate, start, TimeSpan.FromSeconds(1), heartRate, Strap, maxPoints: 1000))
            {
                content.Series.Add(s);
            }

            content.Series.Add(SeriesEncoder.Irregular(Guid.NewGuid(), DataType.RrInterval, rr, Strap, decimalExponent: -3, unit: "s")[0]);
            foreach (var w in WaveformEncoder.Encode(Guid.NewGuid(), start, 512, ecg, Strap, EcgLead.AppleWatchSimilarToLeadI))
            {
                content.Waveforms.Add(w);
            }

            var doomed = TestClient.HeartRate(3);
            content.SampleSets.Add(doomed);
            var queued = await client.EnqueueContentAsync(content).WaitAsync(TestClient.Timeout);
            Assert.Equal(4 + 1 + 2 + 3, queued.SampleCount);
            Assert.Contains(events.Of(SyncEventKind.Queued), e => e.Tier == SyncTier.Immediate); // ECG: tier 1 by its type
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(3600 + 100, await server.Store.CountSeriesPointsAsync(server.UserId, CancellationToken.None).WaitAsync(TestClient.Timeout));
            Assert.Equal(3, await server.CountSamplesAsync());

            await client.DeleteAsync(doomed.Samples.Take(2).Select(s => SampleUuid.ToGuid(s.Uuid))).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(1, await server.CountSamplesAsync());

            var changes = await ReadAllChangesAsync(server);
            var storedSeries = changes.Where(c => c.Kind == ChangeKind.Series).Select(c => Series.Parser.ParseFrom(c.Series!.Payload)).ToList();
            var hr = storedSeries.Where(s => s.Type == DataType.HeartRate).OrderBy(s => s.StartTime).SelectMany(SeriesEncoder.Decode).ToList();
            Assert.Equal(heartRate, hr.Select(p => Math.Round(p.Value)));
            Assert.Equal(2, changes.Count(c => c.Kind == ChangeKind.Waveform));
            Assert.Equal(2, changes.Count(c => c.Kind == ChangeKind.Deletion));
            Assert.Equal(0, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).QuarantinedBatches);
        }
    }

    [Fact]
    public async Task Record_SavedAgainWithTheSameId_IsOneRecord_LastWriteWins_EvenWhenTheClockGoesBack()
    {
        await using var server = await TestServer.StartAsync();
        var clock = new SteppedClock(DateTimeOffset.UtcNow);
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token);
        options = With(options, clock);
        var (client, _) = await TestClient.OpenAsync(options);
        await using (client)
        {
            var sessionId = Guid.CreateVersion7().ToString();
            var first = await client.SaveRecordAsync("com.example/session", sessionId, Encoding.UTF8.GetBytes("{\"state\":\"started\"}")).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            clock.Now = clock.Now.AddHours(-1); // the user moved the clock back: the next version must still be higher
            var second = await client.SaveRecordAsync("com.example/session", sessionId, Encoding.UTF8.GetBytes("{\"state\":\"finished\"}")).WaitAsync(TestClient.Timeout);
            Assert.True(second.Version > first.Version, $"{second.Version} <= {first.Version}");
            var other = await client.SaveRecordAsync("com.example/survey", "phq9-2026-12-01", Encoding.UTF8.GetBytes("{\"score\":4}")).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);

            var records = (await ReadAllChangesAsync(server)).Where(c => c.Kind == ChangeKind.Record).Select(c => c.Record!).ToList();
            var session = records.Where(r => r.RecordId == sessionId).MaxBy(r => r.Version)!;
            Assert.Equal(second.Version, session.Version);
            Assert.Equal("{\"state\":\"finished\"}", Encoding.UTF8.GetString(session.Payload));
            Assert.Equal(other.Version, records.Single(r => r.RecordType == "com.example/survey").Version);

            await client.DeleteRecordAsync("com.example/session", sessionId).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            records = [.. (await ReadAllChangesAsync(server)).Where(c => c.Kind == ChangeKind.Record && c.Record!.RecordId == sessionId).Select(c => c.Record!)];
            Assert.True(records.MaxBy(r => r.Version)!.Deleted);
            await Assert.ThrowsAsync<ArgumentException>(() => client.SaveRecordAsync("no-slash", "x", Array.Empty<byte>()));
        }
    }

    [Fact]
    public async Task AnchoredSource_OfSeriesAndRecords_CommitsItsAnchorOnAck()
    {
        await using var server = await TestServer.StartAsync();
        var series = SeriesEncoder.Regular(Guid.NewGuid(), DataType.HeartRate, DateTimeOffset.UtcNow.AddHours(-1), TimeSpan.FromSeconds(1), [70, 71, 72], Strap);
        var record = new HealthGrpc.Contracts.V1.Record { RecordType = "com.example/progress", RecordId = "level", Version = 7, ContentType = "application/json", Payload = ByteString.CopyFromUtf8("{}") };
        var source = new ModelSource(new SourceChanges([], [], ByteString.CopyFromUtf8("after"), false) { Series = series, Records = [record] });
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token);
        options.Sources.Add(source);
        var (client, _) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            Assert.Equal(3, await server.Store.CountSeriesPointsAsync(server.UserId, CancellationToken.None).WaitAsync(TestClient.Timeout));
            Assert.Contains((await ReadAllChangesAsync(server)), c => c.Kind == ChangeKind.Record && c.Record!.Version == 7);
            var anchor = Assert.Single(await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout));
            Assert.Equal("after", anchor.Anchor.ToStringUtf8());
            Assert.Equal(0, await client.CollectAsync().WaitAsync(TestClient.Timeout));
        }
    }

    internal static async Task<List<ChangeRecord>> ReadAllChangesAsync(TestServer server)
    {
        var all = new List<ChangeRecord>();
        long after = 0;
        while (true)
        {
            var page = await server.Store.ReadChangesAsync(server.UserId, after, 1000, CancellationToken.None).WaitAsync(TestClient.Timeout);
            all.AddRange(page.Changes);
            if (!page.HasMore || page.Changes.Count == 0)
            {
                return all;
            }

            after = page.Changes[^1].Sequence;
        }
    }

    private static HealthSyncOptions With(HealthSyncOptions o, TimeProvider clock) => new()
    {
        ServerAddress = o.ServerAddress,
        DatabasePath = o.DatabasePath,
        AccessToken = o.AccessToken,
        MaxSamplesPerBatch = o.MaxSamplesPerBatch,
        AckTimeout = o.AckTimeout,
        RetryBaseDelay = o.RetryBaseDelay,
        RetryMaxDelay = o.RetryMaxDelay,
        IdleTimeout = o.IdleTimeout,
        TimeProvider = clock,
    };

    /// <summary>Wall clock that a test sets; timers and timestamps stay real.</summary>
    private sealed class SteppedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>A source whose only change (from the empty anchor) is fixed; afterwards it has nothing new.</summary>
    private sealed class ModelSource(SourceChanges first) : ISampleSource
    {
        public string Name => "model";

        public IReadOnlyCollection<DataType> Types => [DataType.HeartRate];

        public ValueTask<SourceChanges> GetChangesAsync(DataType type, ByteString anchor, int maxSamples, CancellationToken cancellationToken) =>
            ValueTask.FromResult(anchor.IsEmpty ? first : new SourceChanges([], [], anchor, false));

        public ValueTask<IReadOnlyList<SampleSet>> ReadRangeAsync(DataType type, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<SampleSet>>([]);
    }
}
