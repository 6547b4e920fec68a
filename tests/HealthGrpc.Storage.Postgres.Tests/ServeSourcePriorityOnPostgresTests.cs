using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Postgres.Tests.Faults;
using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>QueryService's stored source priority on `healthgrpc serve --provider postgres`, end to end.</summary>
public sealed class ServeSourcePriorityOnPostgresTests
{
    private static readonly DateTimeOffset Slot = new(2025, 3, 10, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_stored_order_picks_the_source_GetAggregates_uses()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        var auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(connectionString, "erin"));
        using var server = await ServeProcess.StartAsync(connectionString);
        var query = new QueryService.QueryServiceClient(server.Channel);

        // The same quarter hour from a watch (100 steps) and a phone (70): the default order takes the watch.
        var batch = new Batch { BatchSeq = 1, SampleSets = { Steps(DeviceKind.Watch, Slot, 100), Steps(DeviceKind.Phone, Slot.AddMinutes(1), 70) } };
        var ack = (await server.Sync.UploadAsync(
                new UploadRequest { Device = new DeviceIdentity { DeviceId = "phone-1", Epoch = 1 }, Batch = batch }, auth, Deadline())
            .ResponseAsync.WaitAsync(TestData.Timeout)).Ack;
        Assert.Equal((AckOutcome.Committed, 2u), (ack.Outcome, ack.Accepted));
        Assert.Equal((100d, DeviceKind.Watch), await HourOfStepsAsync(query, auth));

        await query.SetSourcePriorityAsync(new SetSourcePriorityRequest { SourcePriority = { DeviceKind.Phone } }, auth, Deadline())
            .ResponseAsync.WaitAsync(TestData.Timeout);

        Assert.Equal((70d, DeviceKind.Phone), await HourOfStepsAsync(query, auth));
        Assert.Equal([DeviceKind.Phone], (await query.GetSourcePriorityAsync(new GetSourcePriorityRequest(), auth, Deadline())
            .ResponseAsync.WaitAsync(TestData.Timeout)).SourcePriority);
    }

    private static async Task<(double Sum, DeviceKind Source)> HourOfStepsAsync(QueryService.QueryServiceClient query, Metadata auth)
    {
        var response = await query.GetAggregatesAsync(
            new GetAggregatesRequest
            {
                Type = DataType.Steps,
                StartTime = Timestamp.FromDateTimeOffset(Slot),
                EndTime = Timestamp.FromDateTimeOffset(Slot.AddHours(1)),
                BucketSize = BucketSize.Hour,
                Functions = { AggregateFunction.Sum },
            },
            auth,
            Deadline()).ResponseAsync.WaitAsync(TestData.Timeout);
        var bucket = Assert.Single(response.Buckets);
        return (bucket.Sum, bucket.ChosenSourceKind);
    }

    private static SampleSet Steps(DeviceKind kind, DateTimeOffset start, long steps) => new()
    {
        Type = DataType.Steps,
        Unit = "count",
        BaseTime = Timestamp.FromDateTimeOffset(start),
        Source = new Source { Kind = kind, Name = kind.ToString(), Manufacturer = "Acme" },
        Samples = { new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), DurationMs = 60_000, ScaledValue = steps } },
    };

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(30);
}
