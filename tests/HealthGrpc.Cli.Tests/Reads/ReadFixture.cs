using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Cli.Tests.Infrastructure;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Tests.Reads;

/// <summary>
/// A served store holding a known day of alice's data, uploaded through the real Upload RPC: heart-rate samples, two
/// step intervals, a sleep interval (a category, which has no LOINC code) and a 1 Hz heart-rate series.
/// </summary>
internal sealed class ReadFixture : IDisposable
{
    private readonly TempStore _store;

    private ReadFixture(TempStore store, ServeProcess server, string token)
    {
        _store = store;
        Server = server;
        Token = token;
    }

    /// <summary>10:00 UTC two days ago: in the past for the server's clock, inside one Europe/Berlin day.</summary>
    public static DateTimeOffset Origin { get; } = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-2).AddHours(10);

    /// <summary>The discrete heart-rate samples: (uuid, offset from Origin in seconds, bpm).</summary>
    public static IReadOnlyList<(Guid Uuid, int Second, int Bpm)> HeartRates { get; } =
        [.. Enumerable.Range(0, 5).Select(i => (new Guid($"00000000-0000-0000-0000-0000000000{i + 1:x2}"), i * 60, 60 + (i * 3)))];

    /// <summary>The step intervals: (uuid, offset from Origin in minutes, length in minutes, steps).</summary>
    public static IReadOnlyList<(Guid Uuid, int Minute, int Minutes, int Steps)> Steps { get; } =
        [(new Guid("00000000-0000-0000-0000-0000000000a1"), 0, 10, 1200), (new Guid("00000000-0000-0000-0000-0000000000a2"), 120, 15, 800)];

    public static Guid SleepUuid { get; } = new("00000000-0000-0000-0000-0000000000b1");

    public static Guid SeriesUuid { get; } = new("00000000-0000-0000-0000-0000000000c1");

    /// <summary>The series' points, 1 s apart from Origin + 30 min.</summary>
    public static IReadOnlyList<int> SeriesBpm { get; } = [70, 71, 73, 72];

    public static int Items => HeartRates.Count + Steps.Count + 1 + SeriesBpm.Count;

    public ServeProcess Server { get; }

    public string Token { get; }

    public static async Task<ReadFixture> StartAsync()
    {
        var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        var server = await ServeProcess.StartAsync(store.Path);
        var fixture = new ReadFixture(store, server, token);
        var ack = (await server.Client.UploadAsync(new UploadRequest { Device = Batches.Device, Batch = Day() }, ServeProcess.Bearer(token)).ResponseAsync.Bounded()).Ack;
        Assert.True(ack.Outcome == AckOutcome.Committed && ack.Rejected == 0, $"the seed batch was not stored whole: {ack}");
        return fixture;
    }

    /// <summary>`VERB… --server URL --token T extra…`.</summary>
    public string[] Args(string[] verb, params string[] extra) => [.. verb, "--server", Server.Address.ToString(), "--token", Token, .. extra];

    public void Dispose()
    {
        Server.Dispose();
        _store.Dispose();
    }

    private static Batch Day()
    {
        var watch = new Source { Kind = DeviceKind.Watch, Name = "Test Watch", Manufacturer = "Acme" };
        var heart = new SampleSet { Type = DataType.HeartRate, Unit = "count/min", BaseTime = Timestamp.FromDateTimeOffset(Origin), Source = watch };
        heart.Samples.Add(HeartRates.Select(s => new Sample { Uuid = SampleUuid.ToByteString(s.Uuid), StartOffsetMs = s.Second * 1000L, ScaledValue = s.Bpm }));
        var steps = new SampleSet { Type = DataType.Steps, Unit = "count", BaseTime = Timestamp.FromDateTimeOffset(Origin), Source = watch };
        steps.Samples.Add(Steps.Select(s => new Sample { Uuid = SampleUuid.ToByteString(s.Uuid), StartOffsetMs = s.Minute * 60_000L, DurationMs = (ulong)s.Minutes * 60_000, ScaledValue = s.Steps }));
        var sleep = new SampleSet { Type = DataType.SleepAnalysis, BaseTime = Timestamp.FromDateTimeOffset(Origin.AddHours(-8)), Source = watch };
        sleep.Samples.Add(new Sample { Uuid = SampleUuid.ToByteString(SleepUuid), DurationMs = 3_600_000, Category = (int)SleepStage.Rem });
        var series = new Series
        {
            Uuid = SampleUuid.ToByteString(SeriesUuid), Type = DataType.HeartRate, Unit = "count/min", Source = watch,
            StartTime = Timestamp.FromDateTimeOffset(Origin.AddMinutes(30)), IntervalMs = 1000,
        };
        series.ValueDeltas.Add(SeriesBpm.Select((bpm, i) => (long)(i == 0 ? bpm : bpm - SeriesBpm[i - 1])));
        return new Batch { BatchSeq = 1, SampleSets = { heart, steps, sleep }, Series = { series } };
    }
}
