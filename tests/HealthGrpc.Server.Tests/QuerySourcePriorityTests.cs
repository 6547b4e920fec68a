using Grpc.Core;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.QueryApi;

namespace HealthGrpc.Server.Tests;

/// <summary>QueryService.GetSourcePriority/SetSourcePriority on a real server: stored per user, used by GetAggregates, bad orders refused.</summary>
public sealed class QuerySourcePriorityTests : ServerTest
{
    private static readonly long Slot = Ms(new DateTimeOffset(2025, 3, 10, 8, 0, 0, TimeSpan.Zero));

    private async Task<GetAggregatesResponse> HourOfStepsAsync(params DeviceKind[] requestPriority) =>
        await Server.Query().GetAggregatesAsync(
            new GetAggregatesRequest
            {
                Type = DataType.Steps,
                StartTime = Time(Slot),
                EndTime = Time(Slot + 3_600_000),
                BucketSize = BucketSize.Hour,
                Functions = { AggregateFunction.Sum },
                SourcePriority = { requestPriority },
            },
            SyncApi.As(Token)).Bounded();

    [Fact]
    public async Task A_stored_order_picks_the_source_of_every_later_aggregate_until_it_is_reset()
    {
        // The same quarter hour from a watch (100 steps) and a phone (70): the default order takes the watch.
        await UploadAsync(Server, Token, [
            new TestSample(Guid.NewGuid(), DataType.Steps, Watch, Slot, 60_000, 100),
            new TestSample(Guid.NewGuid(), DataType.Steps, Phone, Slot + 60_000, 60_000, 70),
        ]);
        var query = Server.Query();
        Assert.Empty((await query.GetSourcePriorityAsync(new GetSourcePriorityRequest(), SyncApi.As(Token)).Bounded()).SourcePriority);
        Assert.Equal((100d, DeviceKind.Watch), ((await HourOfStepsAsync()).Buckets[0].Sum, (await HourOfStepsAsync()).Buckets[0].ChosenSourceKind));

        var set = await query.SetSourcePriorityAsync(new SetSourcePriorityRequest { SourcePriority = { DeviceKind.Phone, DeviceKind.Manual } }, SyncApi.As(Token)).Bounded();
        Assert.Equal([DeviceKind.Phone, DeviceKind.Manual], set.SourcePriority);
        Assert.Equal([DeviceKind.Phone, DeviceKind.Manual], (await query.GetSourcePriorityAsync(new GetSourcePriorityRequest(), SyncApi.As(Token)).Bounded()).SourcePriority);
        var stored = (await HourOfStepsAsync()).Buckets[0];
        Assert.Equal((70d, DeviceKind.Phone), (stored.Sum, stored.ChosenSourceKind));
        // A request's own order still ranks first.
        Assert.Equal(100d, (await HourOfStepsAsync(DeviceKind.Watch)).Buckets[0].Sum);

        await query.SetSourcePriorityAsync(new SetSourcePriorityRequest(), SyncApi.As(Token)).Bounded();
        Assert.Empty((await query.GetSourcePriorityAsync(new GetSourcePriorityRequest(), SyncApi.As(Token)).Bounded()).SourcePriority);
        Assert.Equal(100d, (await HourOfStepsAsync()).Buckets[0].Sum);
    }

    [Theory]
    [InlineData(new[] { DeviceKind.Phone, DeviceKind.Unspecified }, "source_priority[1]", "DEVICE_KIND_UNSPECIFIED")]
    [InlineData(new[] { DeviceKind.Phone, DeviceKind.Watch, DeviceKind.Phone }, "source_priority[2]", "repeats Phone")]
    [InlineData(new[] { (DeviceKind)99 }, "source_priority[0]", "not a known device kind")]
    public async Task A_bad_order_is_refused_naming_the_entry_and_nothing_is_stored(DeviceKind[] kinds, string field, string reason)
    {
        var query = Server.Query();
        var refused = await Assert.ThrowsAsync<RpcException>(() => query.SetSourcePriorityAsync(new SetSourcePriorityRequest { SourcePriority = { kinds } }, SyncApi.As(Token)).Bounded());

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Equal(field, ViolatedField(refused));
        Assert.Contains(reason, refused.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await query.GetSourcePriorityAsync(new GetSourcePriorityRequest(), SyncApi.As(Token)).Bounded()).SourcePriority);
    }
}
