using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Postgres.Tests.Faults;
using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>GetAggregates on `healthgrpc serve --provider postgres`, end to end: series points count, sleep stages total their durations.</summary>
public sealed class ServeAggregatesOnPostgresTests
{
    private static readonly DateTimeOffset Evening = new(2025, 3, 10, 22, 0, 0, TimeSpan.Zero);

    private static readonly Source Watch = new() { Kind = DeviceKind.Watch, Name = "Watch", Manufacturer = "Acme" };

    [Fact]
    public async Task Heart_rate_series_points_count_like_samples_and_a_night_of_sleep_is_split_at_midnight()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        var auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(connectionString, "fay"));
        using var server = await ServeProcess.StartAsync(connectionString);
        var query = new QueryService.QueryServiceClient(server.Channel);

        // 1 Hz heart rate for an hour as one series, one discrete sample beside it; 90 minutes of deep sleep from 23:30.
        var series = new Series { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), Type = DataType.HeartRate, Unit = "count/min", Source = Watch };
        SeriesColumns.Encode(series, Enumerable.Range(0, 3_600).Select(i => new SeriesPoint(Evening.ToUnixTimeMilliseconds() + (i * 1_000L), 60 + (i % 3))).ToArray());
        var batch = new Batch
        {
            BatchSeq = 1,
            Series = { series },
            SampleSets =
            {
                new SampleSet
                {
                    Type = DataType.HeartRate, Unit = "count/min", BaseTime = Timestamp.FromDateTimeOffset(Evening.AddMinutes(30)), Source = Watch,
                    Samples = { new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), ScaledValue = 90 } },
                },
                new SampleSet
                {
                    Type = DataType.SleepAnalysis, BaseTime = Timestamp.FromDateTimeOffset(Evening.AddMinutes(90)), Source = Watch,
                    Samples = { new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), DurationMs = 90 * 60_000, Category = (int)SleepStage.Deep } },
                },
            },
        };
        var ack = (await server.Sync.UploadAsync(
                new UploadRequest { Device = new DeviceIdentity { DeviceId = "watch-1", Epoch = 1 }, Batch = batch }, auth, Deadline())
            .ResponseAsync.WaitAsync(TestData.Timeout)).Ack;
        Assert.Equal((AckOutcome.Committed, 0u), (ack.Outcome, ack.Rejected));

        var heartRate = Assert.Single((await AggregateAsync(query, auth, DataType.HeartRate, Evening, Evening.AddHours(1), BucketSize.Hour,
            AggregateFunction.Count, AggregateFunction.Max)).Buckets);
        Assert.Equal((3_601UL, 90d), (heartRate.Count, heartRate.Max));

        var nights = await AggregateAsync(query, auth, DataType.SleepAnalysis, Evening, Evening.AddHours(3), BucketSize.Day, AggregateFunction.Duration);
        Assert.Equal(
            [30L * 60_000, 60L * 60_000],
            nights.Buckets.Select(b => (long)Assert.Single(b.Categories, c => c.Value == (int)SleepStage.Deep).DurationMs));
    }

    private static async Task<GetAggregatesResponse> AggregateAsync(
        QueryService.QueryServiceClient query, Metadata auth, DataType type, DateTimeOffset from, DateTimeOffset to, BucketSize size,
        params AggregateFunction[] functions)
        => await query.GetAggregatesAsync(
            new GetAggregatesRequest
            {
                Type = type,
                StartTime = Timestamp.FromDateTimeOffset(from),
                EndTime = Timestamp.FromDateTimeOffset(to),
                BucketSize = size,
                Functions = { functions },
            },
            auth,
            Deadline()).ResponseAsync.WaitAsync(TestData.Timeout);

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(30);
}
