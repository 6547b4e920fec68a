using Grpc.Core;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.QueryApi;

namespace HealthGrpc.Server.Tests;

/// <summary>QueryService.GetAggregates on a real server: local buckets across DST and odd offsets, source priority, functions, refusals.</summary>
public sealed class QueryAggregatesTests : ServerTest
{
    private static long Utc(int year, int month, int day, int hour = 0, int minute = 0) =>
        Ms(new DateTimeOffset(year, month, day, hour, minute, 0, TimeSpan.Zero));

    private static TestSample Steps(long startMs, long value, Source? source = null) => new(Guid.NewGuid(), DataType.Steps, source ?? Watch, startMs, 60_000, value);

    private static GetAggregatesRequest Request(long fromMs, long toMs, BucketSize size, string zone, params AggregateFunction[] functions) => new()
    {
        Type = DataType.Steps,
        StartTime = Time(fromMs),
        EndTime = Time(toMs),
        BucketSize = size,
        TimeZone = zone,
        Functions = { functions.Length == 0 ? [AggregateFunction.Sum] : functions },
    };

    private Task<GetAggregatesResponse> AggregateAsync(GetAggregatesRequest request) => Server.Query().GetAggregatesAsync(request, SyncApi.As(Token)).Bounded();

    private static List<(long Start, long Hours, double Sum)> Days(GetAggregatesResponse response) =>
        response.Buckets.Select(b => (Ms(b.StartTime.ToDateTimeOffset()), (Ms(b.EndTime.ToDateTimeOffset()) - Ms(b.StartTime.ToDateTimeOffset())) / 3_600_000, b.Sum)).ToList();

    [Theory]
    [InlineData("Europe/Berlin", 2025, 3, 30, 23)]
    [InlineData("Europe/Berlin", 2025, 10, 26, 25)]
    [InlineData("America/New_York", 2025, 3, 9, 23)]
    [InlineData("America/New_York", 2025, 11, 2, 25)]
    public async Task A_dst_change_day_is_one_bucket_of_23_or_25_hours(string zone, int year, int month, int day, int hours)
    {
        // One step sample at the start of every UTC hour from two days before to two days after.
        var around = Utc(year, month, day);
        var samples = Enumerable.Range(-48, 96).Select(h => Steps(around + (h * 3_600_000L), 1)).ToList();
        await UploadAsync(Server, Token, samples);
        var tz = NodaTime.DateTimeZoneProviders.Tzdb[zone];
        var localStart = tz.AtStartOfDay(new NodaTime.LocalDate(year, month, day)).ToInstant().ToUnixTimeMilliseconds();

        var response = await AggregateAsync(Request(localStart - 1, localStart + 1, BucketSize.Day, zone));

        Assert.Equal("count", response.Unit);
        var days = Days(response);
        Assert.Equal(2, days.Count);
        Assert.Equal((localStart, (long)hours, (double)hours), days[1]);
        Assert.Equal(24, days[0].Hours);
        Assert.Equal(days[0].Start + (24 * 3_600_000L), days[1].Start);
    }

    [Fact]
    public async Task Hours_of_a_fall_back_day_repeat_the_local_one_oclock_and_spring_forward_skips_two()
    {
        var fallBack = Utc(2025, 11, 2, 4); // local midnight EDT
        var springForward = Utc(2025, 3, 9, 5); // local midnight EST
        await UploadAsync(Server, Token, [.. Enumerable.Range(0, 25).Select(h => Steps(fallBack + (h * 3_600_000L), h)), Steps(springForward + 3_600_000, 5)]);
        var ny = NodaTime.DateTimeZoneProviders.Tzdb["America/New_York"];

        var back = await AggregateAsync(Request(fallBack, fallBack + (25 * 3_600_000L), BucketSize.Hour, "America/New_York"));
        var forward = await AggregateAsync(Request(springForward, springForward + (23 * 3_600_000L), BucketSize.Hour, "America/New_York"));

        int LocalHour(AggregateBucket b) => NodaTime.Instant.FromDateTimeOffset(b.StartTime.ToDateTimeOffset()).InZone(ny).Hour;
        Assert.Equal(25, back.Buckets.Count);
        Assert.Equal([0, 1, 1, 2, 3], back.Buckets.Take(5).Select(LocalHour));
        Assert.Equal(Enumerable.Range(0, 25).Select(h => (double)h), back.Buckets.Select(b => b.Sum));
        Assert.All(back.Buckets, b => Assert.Equal(3_600_000, Ms(b.EndTime.ToDateTimeOffset()) - Ms(b.StartTime.ToDateTimeOffset())));
        Assert.Equal(23, forward.Buckets.Count);
        Assert.Equal([0, 1, 3, 4], forward.Buckets.Take(4).Select(LocalHour));
        Assert.Equal(5, forward.Buckets[1].Sum);
    }

    [Theory]
    [InlineData("Asia/Kathmandu", 2025, 1, 15, 18, 15)] // +05:45
    [InlineData("America/St_Johns", 2025, 1, 15, 3, 30)] // −03:30 (NST)
    [InlineData("America/St_Johns", 2025, 7, 15, 2, 30)] // −02:30 (NDT)
    [InlineData("Asia/Kolkata", 2025, 1, 15, 18, 30)] // +05:30
    public async Task Days_in_zones_with_quarter_and_half_hour_offsets_start_exactly_at_local_midnight(
        string zone, int year, int month, int day, int utcHour, int utcMinute)
    {
        var midnight = Utc(year, month, day, utcHour, utcMinute);
        await UploadAsync(Server, Token, [Steps(midnight - 1, 7), Steps(midnight, 11), Steps(midnight + (24 * 3_600_000L) - 1, 13)]);

        var response = await AggregateAsync(Request(midnight - 1, midnight + 1, BucketSize.Day, zone, AggregateFunction.Sum, AggregateFunction.Count));

        Assert.Equal([(midnight - (24 * 3_600_000L), 24L, 7.0), (midnight, 24L, 24.0)], Days(response));
        Assert.Equal([1UL, 2UL], response.Buckets.Select(b => b.Count));
    }

    [Fact]
    public async Task Per_15_minute_slot_the_highest_priority_source_present_wins()
    {
        var hour = Utc(2025, 6, 1, 10);
        await UploadAsync(Server, Token,
        [
            Steps(hour, 10, Watch), Steps(hour + 60_000, 100, Phone), // slot 1: watch and phone
            Steps(hour + 900_000, 200, Phone), // slot 2: phone only
            Steps(hour + 1_800_000, 3, Watch), Steps(hour + 1_800_000, 30, OtherWatch), // slot 3: two watches
            Steps(hour + 2_700_000, 1000, Manual), Steps(hour + 2_700_000, 2000, Scale), // slot 4: manual and scale
        ]);
        var request = Request(hour, hour + 3_600_000, BucketSize.Hour, "UTC", AggregateFunction.Sum, AggregateFunction.Count);

        var byDefault = Assert.Single((await AggregateAsync(request)).Buckets);
        request.SourcePriority.Add([DeviceKind.Phone, DeviceKind.Manual]);
        var phoneFirst = Assert.Single((await AggregateAsync(request)).Buckets);

        // Default: watch, phone, the watch named "Second watch" (sorts before "Watch"), scale.
        Assert.Equal((10 + 200 + 30 + 2000, 4UL, DeviceKind.Watch), (byDefault.Sum, byDefault.Count, byDefault.ChosenSourceKind));
        Assert.Equal((100 + 200 + 30 + 1000, 4UL, DeviceKind.Phone), (phoneFirst.Sum, phoneFirst.Count, phoneFirst.ChosenSourceKind));
    }

    [Fact]
    public async Task Functions_are_set_only_when_requested_and_empty_buckets_have_count_zero()
    {
        var day = Utc(2025, 6, 2);
        var samples = new[] { Steps(day + 600_000, 5), Steps(day + 60_000, 9), Steps(day + 120_000, 2), Steps(day + 3_000_000, 4) };
        await UploadAsync(Server, Token, samples);
        var deleted = new Batch { BatchSeq = 2, Deletions = { new Deletion { Uuid = Batches.Uuid(samples[3].Uuid), DeletedTime = Time(day) } } };
        await Server.Client.UploadAsync(Batches.Upload(deleted, Batches.Device("query-device")), SyncApi.As(Token)).Bounded();

        var all = await AggregateAsync(Request(day, day + 7_200_000, BucketSize.Hour, string.Empty,
            AggregateFunction.Sum, AggregateFunction.Avg, AggregateFunction.Min, AggregateFunction.Max, AggregateFunction.Count, AggregateFunction.Latest));
        var onlyMax = await AggregateAsync(Request(day, day + 3_600_000, BucketSize.Hour, string.Empty, AggregateFunction.Max));

        var first = all.Buckets[0];
        Assert.Equal((16.0, 16 / 3.0, 2.0, 9.0, 3UL, 5.0), (first.Sum, first.Avg, first.Min, first.Max, first.Count, first.Latest));
        var empty = all.Buckets[1];
        Assert.Equal((0UL, 0.0, false, false, false, false), (empty.Count, empty.Sum, empty.HasAvg, empty.HasMin, empty.HasMax, empty.HasLatest));
        var max = Assert.Single(onlyMax.Buckets);
        Assert.Equal((9.0, false, false, 3UL), (max.Max, max.HasSum, max.HasAvg, max.Count));
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { "unknown zone", "time_zone" },
        { "no bucket size", "bucket_size" },
        { "no functions", "functions" },
        { "unknown function", "functions[1]" },
        { "category type", "functions[0]" },
        { "no type", "type" },
        { "hourly over 5 years", "end_time" },
        { "end before start", "end_time" },
        { "unknown priority kind", "source_priority[0]" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_arguments_are_invalid_argument_naming_the_field(string problem, string field)
    {
        var day = Utc(2025, 6, 2);
        var request = Request(day, day + 86_400_000, BucketSize.Day, "Europe/Berlin");
        switch (problem)
        {
            case "unknown zone": request.TimeZone = "Mars/Olympus_Mons"; break;
            case "no bucket size": request.BucketSize = BucketSize.Unspecified; break;
            case "no functions": request.Functions.Clear(); break;
            case "unknown function": request.Functions.Add((AggregateFunction)77); break;
            case "category type": request.Type = DataType.SleepAnalysis; break;
            case "no type": request.Type = DataType.Unspecified; break;
            case "hourly over 5 years": (request.BucketSize, request.EndTime) = (BucketSize.Hour, Time(day + (6 * 366 * 86_400_000L))); break;
            case "end before start": request.EndTime = Time(day - 1); break;
            default: request.SourcePriority.Add((DeviceKind)50); break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => AggregateAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, ViolatedField(error));
        Assert.Contains(problem == "unknown zone" ? "Mars/Olympus_Mons" : field, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_users_aggregates_are_permission_denied_with_no_grant()
    {
        var bob = await Server.CreateUserAsync("bob");
        var day = Utc(2025, 6, 2);
        var request = Request(day, day + 86_400_000, BucketSize.Day, "UTC");
        request.OwnerUserId = "alice";

        var error = await Assert.ThrowsAsync<RpcException>(() => Server.Query().GetAggregatesAsync(request, SyncApi.As(bob)).Bounded());

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(ErrorReason.NoGrant, SyncApi.Detail(error).Reason);
    }
}
