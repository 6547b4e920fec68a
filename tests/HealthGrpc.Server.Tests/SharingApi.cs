using Grpc.Core;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.QueryApi;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// The generated SharingService client, and an owner's data to share: heart rate and steps on two days, with the
/// uuids a test expects to see through a grant of heart rate on the second day only.
/// </summary>
internal static class SharingApi
{
    public static readonly long Day1 = Ms(Batches.Origin.AddDays(-1));
    public static readonly long Day2 = Ms(Batches.Origin);
    public const long DayMs = 86_400_000;
    private const long HourMs = 3_600_000;

    public static SharingService.SharingServiceClient Sharing(this TestServer server) => new(server.Channel);

    /// <summary>A grant of heart rate on day 2 from the caller to <paramref name="grantee"/> (null: a share code), expiring in an hour.</summary>
    public static CreateGrantRequest HeartRateOnDay2(string? grantee, TimeProvider? clock = null) => new()
    {
        GranteeUserId = grantee ?? "",
        CreateShareCode = grantee is null,
        Types_ = { DataType.HeartRate },
        DataStartTime = Time(Day2),
        DataEndTime = Time(Day2 + DayMs),
        ExpireTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset((clock ?? TimeProvider.System).GetUtcNow().AddHours(1)),
    };

    public static async Task<CreateGrantResponse> GrantAsync(TestServer server, string ownerToken, CreateGrantRequest request) =>
        await server.Sharing().CreateGrantAsync(request, SyncApi.As(ownerToken)).Bounded();

    /// <summary>The owner's samples: heart rate at 10:00, 20:00 and 23:30 (for an hour) on day 1 and 10:00 on day 2, steps at 10:00 on both days.</summary>
    public static async Task<SharedData> UploadOwnerDataAsync(TestServer server, string ownerToken)
    {
        var data = new SharedData(
            // The last one starts before day 2 and lasts into it: a range read of day 2 finds it, the grant must not share it.
            HeartRateDay1:
            [
                Sample(DataType.HeartRate, Day1 + (10 * HourMs)), Sample(DataType.HeartRate, Day1 + (20 * HourMs)),
                Sample(DataType.HeartRate, Day2 - (HourMs / 2)) with { DurationMs = HourMs },
            ],
            HeartRateDay2: [Sample(DataType.HeartRate, Day2 + (10 * HourMs))],
            Steps: [Sample(DataType.Steps, Day1 + (10 * HourMs)), Sample(DataType.Steps, Day2 + (10 * HourMs))]);
        await UploadAsync(server, ownerToken, [.. data.HeartRateDay1, .. data.HeartRateDay2, .. data.Steps], device: "owner-watch");
        return data;
    }

    public static TestSample Sample(DataType type, long startMs) => new(Guid.NewGuid(), type, Watch, startMs, 0, type == DataType.Steps ? 100 : 60);

    /// <summary>ReadSamples of the whole two days, of <paramref name="types"/> (heart rate by default).</summary>
    public static ReadSamplesRequest TwoDays(string owner, params DataType[] types) => new()
    {
        OwnerUserId = owner,
        Types_ = { types.Length == 0 ? [DataType.HeartRate] : types },
        StartTime = Time(Day1),
        EndTime = Time(Day2 + DayMs),
    };

    public static GetAggregatesRequest DailyCounts(string owner, DataType type = DataType.HeartRate) => new()
    {
        OwnerUserId = owner,
        Type = type,
        StartTime = Time(Day1),
        EndTime = Time(Day2 + DayMs),
        BucketSize = BucketSize.Day,
        Functions = { AggregateFunction.Count },
    };

    public static List<Guid> SampleUuids(ReadSamplesResponse page) => page.Samples.Select(sample => SampleUuid.ToGuid(sample.Uuid)).ToList();

    public static List<Guid> SampleUuids(IEnumerable<Change> changes) =>
        changes.Where(change => change.ItemCase == Change.ItemOneofCase.Sample).Select(change => SampleUuid.ToGuid(change.Sample.Uuid)).ToList();

    public static AsyncServerStreamingCall<SubscribeResponse> Subscribe(TestServer server, string token, string owner = "", string sinceToken = "") =>
        ChangeFeedApi.Client(server).Subscribe(new SubscribeRequest { OwnerUserId = owner, SinceToken = sinceToken }, SyncApi.As(token));

    /// <summary>The next message of a Subscribe stream (or the stream's error).</summary>
    public static async Task<SubscribeResponse> NextAsync(AsyncServerStreamingCall<SubscribeResponse> call) =>
        await call.ResponseStream.MoveNext(CancellationToken.None).Bounded()
            ? call.ResponseStream.Current
            : throw new Xunit.Sdk.XunitException("the Subscribe stream ended without a status");

    /// <summary>Reads a Subscribe stream up to its caught_up marker; returns the changes of the backlog.</summary>
    public static async Task<List<Change>> CatchUpAsync(AsyncServerStreamingCall<SubscribeResponse> call)
    {
        var changes = new List<Change>();
        while (true)
        {
            var message = await NextAsync(call);
            if (message.KindCase == SubscribeResponse.KindOneofCase.CaughtUp)
            {
                return changes;
            }

            if (message.KindCase == SubscribeResponse.KindOneofCase.Change)
            {
                changes.Add(message.Change);
            }
        }
    }

    /// <summary>Reads a stream until it fails; returns the failure and every change delivered before it.</summary>
    public static async Task<(RpcException Error, List<Change> Changes)> ReadUntilFailureAsync(AsyncServerStreamingCall<SubscribeResponse> call)
    {
        var changes = new List<Change>();
        try
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None).Bounded())
            {
                if (call.ResponseStream.Current.KindCase == SubscribeResponse.KindOneofCase.Change)
                {
                    changes.Add(call.ResponseStream.Current.Change);
                }
            }
        }
        catch (RpcException error)
        {
            return (error, changes);
        }

        throw new Xunit.Sdk.XunitException("the Subscribe stream ended without an error");
    }

    /// <summary>Asserts a refusal is PERMISSION_DENIED with ERROR_REASON_NO_GRANT; returns its message.</summary>
    public static async Task<string> DeniedAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call).Bounded();
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(ErrorReason.NoGrant, SyncApi.Detail(error).Reason);
        return error.Status.Detail;
    }
}

/// <summary>The samples <see cref="SharingApi.UploadOwnerDataAsync"/> stored.</summary>
internal sealed record SharedData(TestSample[] HeartRateDay1, TestSample[] HeartRateDay2, TestSample[] Steps);

/// <summary>The system clock moved by <see cref="Offset"/> (wall-clock time only): the server's view of "now" for expiry tests.</summary>
internal sealed class ShiftedClock : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
