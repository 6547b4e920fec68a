using Grpc.Core;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.QueryApi;

namespace HealthGrpc.Server.Tests.Insights;

/// <summary>
/// InsightService end to end on the real server: samples uploaded through SyncService, insights computed in the
/// background after the commit and seen on the change feed (no polling), listed, acknowledged, scoped by grants; late,
/// deleted and re-sent samples.
/// </summary>
public sealed class InsightServiceTests : IAsyncLifetime
{
    private const long DayMs = 86_400_000;
    private static readonly long TodayUtc = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private TestServer _server = null!;
    private string _alice = null!;
    private ulong _batchSeq;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(null, "--Insights:SettleDelay", "00:00:00.050");
        _alice = await _server.CreateUserAsync("alice");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private InsightService.InsightServiceClient Insights => new(_server.Channel);

    /// <summary>Resting heart rate at noon UTC <paramref name="daysAgo"/> days before today, in bpm.</summary>
    private static TestSample RestingHeartRate(int daysAgo, long bpm) =>
        new(Guid.NewGuid(), DataType.RestingHeartRate, Watch, TodayUtc - (daysAgo * DayMs) + (DayMs / 2), 0, bpm);

    /// <summary>Rising by 1 bpm a day over the 10 days before today: 60 bpm ten days ago, 69 yesterday.</summary>
    private static List<TestSample> RisingWeeks(int firstDaysAgo = 10, int lastDaysAgo = 1) =>
        Enumerable.Range(lastDaysAgo, firstDaysAgo - lastDaysAgo + 1).Select(daysAgo => RestingHeartRate(daysAgo, 70 - daysAgo)).ToList();

    private async Task UploadAsync(IReadOnlyList<TestSample> samples) => await QueryApi.UploadAsync(_server, _alice, samples, firstSeq: ++_batchSeq);

    private async Task UploadAsync(Batch batch)
    {
        batch.BatchSeq = ++_batchSeq;
        var ack = (await _server.Client.UploadAsync(Batches.Upload(batch, Batches.Device("query-device")), SyncApi.As(_alice)).Bounded()).Ack;
        Assert.Equal(AckOutcome.Committed, ack.Outcome);
    }

    private AsyncServerStreamingCall<SubscribeResponse> Feed(string token) =>
        ChangeFeedApi.Client(_server).Subscribe(new SubscribeRequest(), SyncApi.As(token));

    /// <summary>The next insight change on the stream (samples and markers skipped).</summary>
    private static async Task<Insight> NextInsightAsync(AsyncServerStreamingCall<SubscribeResponse> feed)
    {
        while (await feed.ResponseStream.MoveNext(CancellationToken.None).Bounded())
        {
            if (feed.ResponseStream.Current.Change?.Insight is { } insight)
            {
                return insight;
            }
        }

        throw new Xunit.Sdk.XunitException("the feed ended before an insight change");
    }

    private async Task<List<Insight>> ListAsync(string token, string owner = "", bool includeClosed = true, bool unacknowledgedOnly = false) =>
        [.. (await Insights.ListInsightsAsync(
            new ListInsightsRequest { OwnerUserId = owner, IncludeClosed = includeClosed, UnacknowledgedOnly = unacknowledgedOnly }, SyncApi.As(token)).Bounded()).Insights];

    [Fact]
    public async Task A_rising_resting_heart_rate_raises_one_insight_on_the_feed_and_in_the_list()
    {
        using var feed = Feed(_alice);
        await UploadAsync(RisingWeeks());

        var insight = await NextInsightAsync(feed);

        Assert.Equal((InsightKind.RestingHeartRateTrend, InsightDirection.Up, "rhr_trend_up"), (insight.Kind, insight.Direction, insight.Code));
        Assert.Equal(1.0, insight.Change, 9);
        Assert.Equal(10u, insight.DaysWithData);
        Assert.Equal(64.5, insight.Average, 9);
        Assert.Equal("count/min", insight.Unit);
        Assert.Equal(TodayUtc - (29 * DayMs), Ms(insight.PeriodStart.ToDateTimeOffset()));
        Assert.Equal(TodayUtc + DayMs, Ms(insight.PeriodEnd.ToDateTimeOffset()));
        Assert.Equal(insight, Assert.Single(await ListAsync(_alice)));
    }

    [Fact]
    public async Task Late_samples_update_the_insight_in_place_deleted_ones_close_it_and_a_re_sent_day_adds_nothing()
    {
        using var feed = Feed(_alice);
        var rising = RisingWeeks();
        await UploadAsync(rising);
        var raised = await NextInsightAsync(feed);

        // Late samples of older days (the same trend): the same insight, with more days behind it.
        var late = RisingWeeks(firstDaysAgo: 14, lastDaysAgo: 11);
        await UploadAsync(late);
        var updated = await NextInsightAsync(feed);
        Assert.Equal(raised.InsightId, updated.InsightId);
        Assert.Equal(14u, updated.DaysWithData);
        Assert.Null(updated.ClosedTime);

        // The day re-sent (same uuids): duplicates, nothing new; then deleting all but 6 days closes the insight, and the
        // next insight change on the feed is that closing (no duplicate was raised in between).
        await UploadAsync(rising.Take(3).ToList());
        var deletions = new Batch();
        deletions.Deletions.AddRange(rising.Skip(2).Concat(late).Take(8).Select(sample =>
            new Deletion { Uuid = Batches.Uuid(sample.Uuid), DeletedTime = Time(TodayUtc) }));
        await UploadAsync(deletions);
        var closed = await NextInsightAsync(feed);
        Assert.Equal(raised.InsightId, closed.InsightId);
        Assert.NotNull(closed.ClosedTime);

        Assert.Equal(raised.InsightId, Assert.Single(await ListAsync(_alice)).InsightId);
        Assert.Empty(await ListAsync(_alice, includeClosed: false));
    }

    [Fact]
    public async Task Acknowledged_insights_leave_the_unacknowledged_list_and_unknown_ids_are_not_found()
    {
        using var feed = Feed(_alice);
        await UploadAsync(RisingWeeks());
        var insight = await NextInsightAsync(feed);

        var acknowledged = (await Insights.AcknowledgeInsightAsync(new AcknowledgeInsightRequest { InsightId = insight.InsightId }, SyncApi.As(_alice)).Bounded()).Insight;

        Assert.NotNull(acknowledged.AcknowledgedTime);
        Assert.Equal(acknowledged, await NextInsightAsync(feed));
        Assert.Empty(await ListAsync(_alice, unacknowledgedOnly: true));
        var bob = await _server.CreateUserAsync("bob");
        var missing = await Assert.ThrowsAsync<RpcException>(() => Insights.AcknowledgeInsightAsync(
            new AcknowledgeInsightRequest { InsightId = insight.InsightId }, SyncApi.As(bob)).Bounded());
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_grantee_sees_insights_only_of_the_types_of_their_grant()
    {
        using var feed = Feed(_alice);
        await UploadAsync(RisingWeeks());
        var insight = await NextInsightAsync(feed);
        var bob = await _server.CreateUserAsync("bob");
        var expires = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1));
        await SharingApi.GrantAsync(_server, _alice, new CreateGrantRequest { GranteeUserId = "bob", Types_ = { DataType.Steps }, ExpireTime = expires });

        Assert.Empty(await ListAsync(bob, owner: "alice"));
        var denied = await Assert.ThrowsAsync<RpcException>(() => Insights.ListInsightsAsync(
            new ListInsightsRequest { OwnerUserId = "alice", Kinds = { InsightKind.RestingHeartRateTrend } }, SyncApi.As(bob)).Bounded());
        Assert.Equal((StatusCode.PermissionDenied, ErrorReason.NoGrant), (denied.StatusCode, SyncApi.Detail(denied).Reason));

        await SharingApi.GrantAsync(_server, _alice, new CreateGrantRequest { GranteeUserId = "bob", Types_ = { DataType.RestingHeartRate }, ExpireTime = expires });
        Assert.Equal(insight.InsightId, Assert.Single(await ListAsync(bob, owner: "alice")).InsightId);
    }

    [Fact]
    public async Task Sleep_is_counted_for_the_local_night_it_ends_from_asleep_stages_only()
    {
        const string zone = "America/New_York";
        await Insights.SetInsightTimeZoneAsync(new SetInsightTimeZoneRequest { TimeZone = zone }, SyncApi.As(_alice)).Bounded();
        using var feed = Feed(_alice);
        var tz = NodaTime.DateTimeZoneProviders.Tzdb[zone];
        var today = NodaTime.SystemClock.Instance.GetCurrentInstant().InZone(tz).Date;
        var baseMs = tz.AtStartOfDay(today.PlusDays(-14)).ToInstant().ToUnixTimeMilliseconds();
        var set = new SampleSet { Type = DataType.SleepAnalysis, Unit = "", BaseTime = Time(baseMs), Source = Watch };
        const long hour = 3_600_000;
        void Add(long from, long to, SleepStage stage) => set.Samples.Add(new Sample
        {
            Uuid = Batches.Uuid(Guid.NewGuid()), StartOffsetMs = from - baseMs, DurationMs = (ulong)(to - from), Category = (int)stage,
        });

        // Seven nights, the oldest ending on the first day of the 14-night window (it started the day before: counted by
        // its start, only six nights would be in the window, too few for an insight).
        for (var night = 7; night <= 13; night++)
        {
            // In bed from 22:30, asleep 23:00 to 04:30 across local midnight, light sleep overlapping inside it (counted
            // once), awake 04:30 to 05:30: 5.5 h asleep, 7 h if in-bed and awake were counted.
            var midnight = tz.AtStartOfDay(today.PlusDays(-night)).ToInstant().ToUnixTimeMilliseconds();
            Add(midnight - (hour * 3 / 2), midnight - hour, SleepStage.InBed);
            Add(midnight - hour, midnight + (hour * 9 / 2), SleepStage.AsleepUnspecified);
            Add(midnight, midnight + hour, SleepStage.Light);
            Add(midnight + (hour * 9 / 2), midnight + (hour * 11 / 2), SleepStage.Awake);
        }

        var batch = new Batch();
        batch.SampleSets.Add(set);
        await UploadAsync(batch);
        var insight = await NextInsightAsync(feed);

        Assert.Equal((InsightKind.SleepDeficit, InsightSeverity.Warning, "sleep_deficit"), (insight.Kind, insight.Severity, insight.Code));
        Assert.Equal(5.5, insight.Average, 9);
        Assert.Equal(7u, insight.DaysWithData);
        Assert.Equal(tz.AtStartOfDay(today.PlusDays(-13)).ToInstant().ToUnixTimeMilliseconds(), Ms(insight.PeriodStart.ToDateTimeOffset()));
    }

    [Fact]
    public async Task Bad_requests_name_the_field()
    {
        var zone = await Assert.ThrowsAsync<RpcException>(() => Insights.SetInsightTimeZoneAsync(
            new SetInsightTimeZoneRequest { TimeZone = "Mars/Olympus" }, SyncApi.As(_alice)).Bounded());
        Assert.Equal((StatusCode.InvalidArgument, "time_zone"), (zone.StatusCode, ViolatedField(zone)));
        var token = await Assert.ThrowsAsync<RpcException>(() => Insights.ListInsightsAsync(
            new ListInsightsRequest { PageToken = "x" }, SyncApi.As(_alice)).Bounded());
        Assert.Equal((StatusCode.InvalidArgument, "page_token"), (token.StatusCode, ViolatedField(token)));
        var kind = await Assert.ThrowsAsync<RpcException>(() => Insights.ListInsightsAsync(
            new ListInsightsRequest { Kinds = { InsightKind.Unspecified } }, SyncApi.As(_alice)).Bounded());
        Assert.Equal((StatusCode.InvalidArgument, "kinds[0]"), (kind.StatusCode, ViolatedField(kind)));
    }
}
