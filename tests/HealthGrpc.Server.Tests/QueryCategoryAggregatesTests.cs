using Grpc.Core;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.QueryApi;

namespace HealthGrpc.Server.Tests;

/// <summary>QueryService.GetAggregates of a category type: per value, durations split at local bucket boundaries, one source per slot.</summary>
public sealed class QueryCategoryAggregatesTests : ServerTest
{
    private const long Minute = 60_000;

    private static readonly NodaTime.DateTimeZone Kathmandu = NodaTime.DateTimeZoneProviders.Tzdb["Asia/Kathmandu"];

    private sealed record Sleep(Guid Uuid, Source Source, long StartMs, long DurationMs, SleepStage Stage);

    private static Sleep Stage(Source source, long startMs, long minutes, SleepStage stage) => new(Guid.NewGuid(), source, startMs, minutes * Minute, stage);

    private static long Local(int day, int hour, int minute = 0) =>
        Kathmandu.AtStrictly(new NodaTime.LocalDateTime(2025, 6, day, hour, minute)).ToInstant().ToUnixTimeMilliseconds();

    private async Task UploadAsync(IReadOnlyList<Sleep> samples)
    {
        var batch = new Batch { BatchSeq = 1 };
        foreach (var group in samples.GroupBy(s => s.Source))
        {
            var baseMs = group.Min(s => s.StartMs);
            var set = new SampleSet { Type = DataType.SleepAnalysis, BaseTime = Time(baseMs), Source = group.Key };
            foreach (var s in group)
            {
                set.Samples.Add(new Sample { Uuid = Batches.Uuid(s.Uuid), StartOffsetMs = s.StartMs - baseMs, DurationMs = (ulong)s.DurationMs, Category = (int)s.Stage });
            }

            batch.SampleSets.Add(set);
        }

        var ack = (await Server.Client.UploadAsync(Batches.Upload(batch, Batches.Device("sleep-device")), SyncApi.As(Token)).Bounded()).Ack;
        Assert.True(ack.Outcome == AckOutcome.Committed && ack.Rejected == 0, $"not committed cleanly: {ack}");
    }

    private Task<GetAggregatesResponse> AggregateAsync(long fromMs, long toMs, BucketSize size, params AggregateFunction[] functions) =>
        Server.Query().GetAggregatesAsync(
            new GetAggregatesRequest
            {
                Type = DataType.SleepAnalysis,
                StartTime = Time(fromMs),
                EndTime = Time(toMs),
                BucketSize = size,
                TimeZone = "Asia/Kathmandu",
                Functions = { functions.Length == 0 ? [AggregateFunction.Duration] : functions },
            },
            SyncApi.As(Token)).Bounded();

    private static List<(int Value, ulong Minutes, ulong Count)> Totals(AggregateBucket bucket) =>
        bucket.Categories.Select(c => (c.Value, c.DurationMs / (ulong)Minute, c.Count)).ToList();

    [Fact]
    public async Task A_night_is_split_at_local_midnight_of_a_quarter_hour_zone_per_stage()
    {
        // Kathmandu is +05:45: local midnight is 18:15 UTC, a 15-minute slot boundary but not an hour's.
        await UploadAsync(
        [
            Stage(Watch, Local(2, 22), 9 * 60, SleepStage.InBed),
            Stage(Watch, Local(2, 23, 10), 90, SleepStage.Deep),
            Stage(Watch, Local(3, 2), 30, SleepStage.Rem),
            Stage(Watch, Local(3, 3), 0, SleepStage.Awake),
        ]);

        var response = await AggregateAsync(Local(2, 12), Local(3, 12), BucketSize.Day, AggregateFunction.Duration, AggregateFunction.Count);

        Assert.Equal(2, response.Buckets.Count);
        Assert.Equal(Local(3, 0), Ms(response.Buckets[1].StartTime.ToDateTimeOffset()));
        Assert.Equal([((int)SleepStage.InBed, 120UL, 1UL), ((int)SleepStage.Deep, 50UL, 1UL)], Totals(response.Buckets[0]));
        Assert.Equal(
            [((int)SleepStage.InBed, 420UL, 1UL), ((int)SleepStage.Awake, 0UL, 1UL), ((int)SleepStage.Deep, 40UL, 1UL), ((int)SleepStage.Rem, 30UL, 1UL)],
            Totals(response.Buckets[1]));
        Assert.Equal((2UL, 4UL), (response.Buckets[0].Count, response.Buckets[1].Count));
        Assert.Equal(DeviceKind.Watch, response.Buckets[1].ChosenSourceKind);
    }

    [Fact]
    public async Task Hourly_buckets_keep_every_minute_of_random_nights_and_count_samples_in_each_bucket_they_reach()
    {
        var random = new Random(9);
        var samples = new List<Sleep>();
        var time = Local(10, 21, 7);
        for (var i = 0; i < 60; i++)
        {
            var minutes = random.Next(0, 100);
            samples.Add(Stage(Watch, time, minutes, (SleepStage)random.Next(1, 8)));
            time += (minutes + random.Next(0, 20)) * Minute + random.Next(0, 60_000);
        }

        await UploadAsync(samples);

        var response = await AggregateAsync(Local(10, 0), Local(14, 0), BucketSize.Hour);

        foreach (var stage in samples.Select(s => (int)s.Stage).Distinct())
        {
            Assert.Equal(
                samples.Where(s => (int)s.Stage == stage).Sum(s => s.DurationMs),
                response.Buckets.SelectMany(b => b.Categories).Where(c => c.Value == stage).Sum(c => (long)c.DurationMs));
        }

        // A sample counts once in each local hour it reaches (one without duration: in the hour of its start); the
        // zone has no DST, so a local hour is a UTC hour shifted by +05:45.
        const long offset = ((5 * 60) + 45) * Minute;
        long Hours(Sleep s) => s.DurationMs == 0 ? 1 : ((s.StartMs + offset + s.DurationMs - 1) / 3_600_000) - ((s.StartMs + offset) / 3_600_000) + 1;
        Assert.Equal(samples.Sum(Hours), response.Buckets.Sum(b => (long)b.Count));
        Assert.All(response.Buckets, b => Assert.True(b.Categories.All(c => c.DurationMs <= 3_600_000), $"{b}"));
    }

    [Fact]
    public async Task Per_slot_the_highest_ranked_source_counts_and_another_fills_the_slots_it_left_empty()
    {
        // The phone tracked 23:00-01:00, the watch only 23:30-00:30: watch in its slots, phone around them.
        await UploadAsync(
        [
            Stage(Phone, Local(4, 23), 120, SleepStage.AsleepUnspecified),
            Stage(Watch, Local(4, 23, 30), 60, SleepStage.Light),
        ]);

        var response = await AggregateAsync(Local(4, 12), Local(5, 12), BucketSize.Day);

        Assert.Equal([((int)SleepStage.AsleepUnspecified, 30UL, 1UL), ((int)SleepStage.Light, 30UL, 1UL)], Totals(response.Buckets[0]));
        Assert.Equal([((int)SleepStage.AsleepUnspecified, 30UL, 1UL), ((int)SleepStage.Light, 30UL, 1UL)], Totals(response.Buckets[1]));
        Assert.Equal(DeviceKind.Watch, response.Buckets[0].ChosenSourceKind);
    }

    [Fact]
    public async Task Through_a_grant_only_samples_starting_in_its_dates_count_and_only_in_its_slots()
    {
        await UploadAsync(
        [
            Stage(Watch, Local(2, 22), 9 * 60, SleepStage.InBed),
            Stage(Watch, Local(3, 2), 30, SleepStage.Rem),
            Stage(Watch, Local(3, 23), 120, SleepStage.Light),
        ]);
        var bob = await Server.CreateUserAsync("bob");
        await SharingApi.GrantAsync(Server, Token, new CreateGrantRequest
        {
            GranteeUserId = "bob",
            Types_ = { DataType.SleepAnalysis },
            DataStartTime = Time(Local(3, 0)),
            DataEndTime = Time(Local(4, 0)),
            ExpireTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
        });
        var request = new GetAggregatesRequest
        {
            OwnerUserId = "alice",
            Type = DataType.SleepAnalysis,
            StartTime = Time(Local(2, 12)),
            EndTime = Time(Local(4, 12)),
            BucketSize = BucketSize.Day,
            TimeZone = "Asia/Kathmandu",
            Functions = { AggregateFunction.Duration },
        };

        var response = await Server.Query().GetAggregatesAsync(request, SyncApi.As(bob)).Bounded();

        // The night in bed started before the grant: not shared. The light sleep is, but not its hour after the grant's end.
        Assert.Equal(3, response.Buckets.Count);
        Assert.Empty(response.Buckets[0].Categories);
        Assert.Equal([((int)SleepStage.Light, 60UL, 1UL), ((int)SleepStage.Rem, 30UL, 1UL)], Totals(response.Buckets[1]));
        Assert.Empty(response.Buckets[2].Categories);
    }

    [Theory]
    [InlineData(DataType.SleepAnalysis, AggregateFunction.Sum)]
    [InlineData(DataType.Steps, AggregateFunction.Duration)]
    public async Task A_function_the_type_has_no_values_for_is_invalid_argument_naming_it(DataType type, AggregateFunction function)
    {
        var request = new GetAggregatesRequest
        {
            Type = type,
            StartTime = Time(Local(2, 0)),
            EndTime = Time(Local(3, 0)),
            BucketSize = BucketSize.Day,
            Functions = { AggregateFunction.Count, function },
        };

        var error = await Assert.ThrowsAsync<RpcException>(() => Server.Query().GetAggregatesAsync(request, SyncApi.As(Token)).Bounded());

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("functions[1]", ViolatedField(error));
    }
}
