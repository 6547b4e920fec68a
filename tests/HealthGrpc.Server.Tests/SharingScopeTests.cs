using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.SharingApi;

namespace HealthGrpc.Server.Tests;

/// <summary>Reads through a grant on a real server: only the grant's types and dates, on every read RPC; nothing without one.</summary>
public sealed class SharingScopeTests : ServerTest
{
    [Fact]
    public async Task A_grant_shares_only_its_types_and_dates_on_every_read_rpc()
    {
        var data = await UploadOwnerDataAsync(Server, Token);
        var bob = await Server.CreateUserAsync("bob");
        await GrantAsync(Server, Token, HeartRateOnDay2("bob"));
        var shared = data.HeartRateDay2.Select(sample => sample.Uuid).ToList();

        var samples = await Server.Query().ReadSamplesAsync(TwoDays("alice"), SyncApi.As(bob)).Bounded();
        var aggregates = await Server.Query().GetAggregatesAsync(DailyCounts("alice"), SyncApi.As(bob)).Bounded();
        var (changes, _, _) = await ReadFeedAsync(bob);
        using var subscription = Subscribe(Server, bob, "alice");
        var backlog = await CatchUpAsync(subscription);

        Assert.Equal(shared, SampleUuids(samples));
        Assert.Equal([0ul, 1ul], aggregates.Buckets.Select(bucket => bucket.Count));
        Assert.Equal(shared, SampleUuids(changes));
        Assert.DoesNotContain(changes, change => change.ItemCase == Change.ItemOneofCase.Record);
        Assert.Equal(shared, SampleUuids(backlog));
    }

    [Fact]
    public async Task Types_outside_the_grant_and_ranges_outside_its_dates_are_permission_denied()
    {
        await UploadOwnerDataAsync(Server, Token);
        var bob = await Server.CreateUserAsync("bob");
        await GrantAsync(Server, Token, HeartRateOnDay2("bob"));
        var day1Only = TwoDays("alice");
        day1Only.EndTime = QueryApi.Time(Day2);
        var day1Aggregates = DailyCounts("alice");
        day1Aggregates.EndTime = QueryApi.Time(Day2);

        var steps = await DeniedAsync(() => Server.Query().ReadSamplesAsync(TwoDays("alice", DataType.HeartRate, DataType.Steps), SyncApi.As(bob)).ResponseAsync);
        await DeniedAsync(() => Server.Query().ReadSamplesAsync(day1Only, SyncApi.As(bob)).ResponseAsync);
        await DeniedAsync(() => Server.Query().GetAggregatesAsync(DailyCounts("alice", DataType.Steps), SyncApi.As(bob)).ResponseAsync);
        await DeniedAsync(() => Server.Query().GetAggregatesAsync(day1Aggregates, SyncApi.As(bob)).ResponseAsync);
        var feed = await DeniedAsync(() => ChangeFeedApi.Client(Server).ChangesAsync(
            new ChangesRequest { OwnerUserId = "alice", Filter = new ChangeFilter { Types_ = { DataType.Steps } } }, SyncApi.As(bob)).ResponseAsync);
        await DeniedAsync(() => NextAsync(ChangeFeedApi.Client(Server).Subscribe(
            new SubscribeRequest { OwnerUserId = "alice", Filter = new ChangeFilter { Types_ = { DataType.Steps } } }, SyncApi.As(bob))));

        Assert.Contains("Steps", steps, StringComparison.Ordinal);
        Assert.Contains("Steps", feed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("nobody-at-all")]
    public async Task Without_a_grant_every_read_rpc_of_another_user_is_permission_denied_the_same_way(string owner)
    {
        await UploadOwnerDataAsync(Server, Token);
        var eve = await Server.CreateUserAsync("eve");
        await Server.CreateUserAsync("bob");
        await GrantAsync(Server, Token, HeartRateOnDay2("bob")); // a grant to someone else shares nothing with eve

        string[] messages =
        [
            await DeniedAsync(() => Server.Query().ReadSamplesAsync(TwoDays(owner), SyncApi.As(eve)).ResponseAsync),
            await DeniedAsync(() => Server.Query().GetAggregatesAsync(DailyCounts(owner), SyncApi.As(eve)).ResponseAsync),
            await DeniedAsync(() => ChangeFeedApi.Client(Server).ChangesAsync(new ChangesRequest { OwnerUserId = owner }, SyncApi.As(eve)).ResponseAsync),
            await DeniedAsync(() => NextAsync(Subscribe(Server, eve, owner))),
        ];

        // The same words whether the owner exists (and shares with someone else) or not: nothing tells them apart.
        Assert.All(messages, message => Assert.Equal("no active grant lets you read owner_user_id's data.", message));
    }

    [Fact]
    public async Task A_change_token_of_one_feed_is_invalid_argument_on_another()
    {
        await UploadOwnerDataAsync(Server, Token);
        var bob = await Server.CreateUserAsync("bob");
        await QueryApi.UploadAsync(Server, bob, [Sample(DataType.HeartRate, Day2), Sample(DataType.HeartRate, Day2 + 1000)], device: "bobs-watch");
        await GrantAsync(Server, Token, HeartRateOnDay2("bob"));
        var alicesOwn = (await ChangeFeedApi.ReadAllAsync(Server, Token, pageSize: 1)).Token;
        var aliceThroughGrant = (await ReadFeedAsync(bob)).Token;
        var bobsOwn = (await ChangeFeedApi.ReadAllAsync(Server, bob, pageSize: 1)).Token;
        var feed = ChangeFeedApi.Client(Server);

        var onBobsFeed = await ChangeFeedApi.RefusedAsync(() => feed.ChangesAsync(new ChangesRequest { SinceToken = alicesOwn }, SyncApi.As(bob)).ResponseAsync);
        var grantTokenOnBobsFeed = await ChangeFeedApi.RefusedAsync(() =>
            feed.ChangesAsync(new ChangesRequest { SinceToken = aliceThroughGrant }, SyncApi.As(bob)).ResponseAsync);
        var onAlicesFeed = await ChangeFeedApi.RefusedAsync(() =>
            feed.ChangesAsync(new ChangesRequest { OwnerUserId = "alice", SinceToken = bobsOwn }, SyncApi.As(bob)).ResponseAsync);
        var resumed = await feed.ChangesAsync(new ChangesRequest { OwnerUserId = "alice", SinceToken = aliceThroughGrant }, SyncApi.As(bob)).Bounded();
        // A version-1 token (issued before tokens were bound) is still read as a position in the feed it is used on.
        var legacy = await feed.ChangesAsync(new ChangesRequest { SinceToken = "c1.1" }, SyncApi.As(bob)).Bounded();

        Assert.All([onBobsFeed, grantTokenOnBobsFeed, onAlicesFeed], error =>
        {
            Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
            Assert.Equal(ErrorReason.ChangeTokenInvalid, SyncApi.Detail(error).Reason);
            Assert.Contains("another user's change feed", error.Status.Detail, StringComparison.Ordinal);
        });
        Assert.Empty(resumed.Changes);
        Assert.Equal(2ul, Assert.Single(legacy.Changes).Sequence);
        Assert.Matches(@"^c2\.[0-9]+\.[A-Za-z0-9_-]{8}$", alicesOwn);
    }

    private Task<(List<Change> Changes, string Token, int Pages)> ReadFeedAsync(string token) =>
        ChangeFeedApi.ReadAllAsync(Server, token, pageSize: 2, owner: "alice");
}
