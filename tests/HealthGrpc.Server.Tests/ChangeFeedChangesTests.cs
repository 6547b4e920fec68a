using Grpc.Core;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>ChangeFeedService.Changes over real Kestrel and SQLite: paging, filters, tokens and ownership.</summary>
public sealed class ChangeFeedChangesTests : ServerTest
{
    private ChangeFeedService.ChangeFeedServiceClient Feed => ChangeFeedApi.Client(Server);

    private async Task<MirroredState> IngestMixAsync(int batchesPerDevice = 30, int samplesPerBatch = 50)
    {
        var workload = new ChangeFeedWorkload(samplesPerBatch);
        await workload.IngestAsync(Server, Token, "watch-1", batchesPerDevice);
        await workload.IngestAsync(Server, Token, "phone-1", batchesPerDevice);
        return workload.Expected;
    }

    [Fact]
    public async Task Paging_from_the_start_mirrors_exactly_what_was_ingested()
    {
        var expected = await IngestMixAsync();
        var sequence = await Server.Store.GetChangeSequenceAsync("alice", CancellationToken.None).Bounded();

        var (changes, token, pages) = await ChangeFeedApi.ReadAllAsync(Server, Token, pageSize: 97);

        Assert.True(changes.Count > 3000, $"{changes.Count} changes");
        Assert.Equal(pages, (changes.Count + 96) / 97); // every page but the last is full
        Assert.True(changes.Zip(changes.Skip(1)).All(pair => pair.First.Sequence < pair.Second.Sequence), "sequences strictly increase");
        Assert.Equal(ChangeFeedApi.TokenAt(sequence), token);
        var mirror = new MirroredState();
        changes.ForEach(mirror.Apply);
        expected.AssertEqual(mirror);
        Assert.Contains(changes, change => change.ItemCase == Change.ItemOneofCase.Series);
        Assert.Contains(changes, change => change.ItemCase == Change.ItemOneofCase.Record);
        Assert.Equal("watch-1", changes.First(change => change.ItemCase == Change.ItemOneofCase.Sample).Sample.DeviceId);
    }

    [Fact]
    public async Task The_default_page_is_1000_and_a_larger_page_size_is_clamped_to_10000()
    {
        await IngestMixAsync(batchesPerDevice: 6, samplesPerBatch: 1000); // > 10,000 changes

        var byDefault = await Feed.ChangesAsync(new ChangesRequest(), SyncApi.As(Token)).Bounded();
        var huge = await Feed.ChangesAsync(new ChangesRequest { PageSize = 1_000_000 }, SyncApi.As(Token)).Bounded();

        Assert.Equal(1000, byDefault.Changes.Count);
        Assert.True(byDefault.HasMore);
        Assert.Equal(10_000, huge.Changes.Count);
        Assert.Equal(ChangeFeedApi.TokenAt((long)huge.Changes[^1].Sequence), huge.NextToken);
    }

    [Fact]
    public async Task A_caught_up_reader_gets_an_empty_page_whose_token_polls_for_what_commits_next()
    {
        await IngestMixAsync(batchesPerDevice: 2, samplesPerBatch: 10);
        var (_, token, _) = await ChangeFeedApi.ReadAllAsync(Server, Token, pageSize: 0);

        var empty = await Feed.ChangesAsync(new ChangesRequest { SinceToken = token }, SyncApi.As(Token)).Bounded();
        await Server.Client.UploadAsync(Upload(HeartRate(1, NewUuids(3)), Device("ring-1")), SyncApi.As(Token)).Bounded();
        var next = await Feed.ChangesAsync(new ChangesRequest { SinceToken = empty.NextToken }, SyncApi.As(Token)).Bounded();

        Assert.Empty(empty.Changes);
        Assert.False(empty.HasMore);
        Assert.Equal(token, empty.NextToken);
        Assert.Equal(3, next.Changes.Count);
    }

    [Fact]
    public async Task A_type_filter_keeps_those_types_and_every_deletion_and_exclude_deletions_drops_them()
    {
        var expected = await IngestMixAsync(batchesPerDevice: 12, samplesPerBatch: 20);
        var (all, _, _) = await ChangeFeedApi.ReadAllAsync(Server, Token, pageSize: 50);

        var (bodyMass, bodyMassToken, _) = await ChangeFeedApi.ReadAllAsync(
            Server, Token, pageSize: 7, new ChangeFilter { Types_ = { DataType.BodyMass } });
        var (noDeletions, _, _) = await ChangeFeedApi.ReadAllAsync(
            Server, Token, pageSize: 50, new ChangeFilter { ExcludeDeletions = true });

        Assert.Equal(
            all.Where(c => c.Sample?.Type == DataType.BodyMass || c.ItemCase == Change.ItemOneofCase.Deletion).Select(c => c.Sequence),
            bodyMass.Select(c => c.Sequence));
        Assert.Equal(ChangeFeedApi.TokenAt((long)all[^1].Sequence), bodyMassToken); // past the filtered-out tail
        Assert.Equal(all.Where(c => c.ItemCase != Change.ItemOneofCase.Deletion).Select(c => c.Sequence), noDeletions.Select(c => c.Sequence));
        Assert.Equal(expected.Samples.Count + expected.Series.Count + expected.Records.Count, noDeletions.Count);
    }

    [Fact]
    public async Task A_filter_that_matches_nothing_still_moves_the_token_to_the_end()
    {
        await IngestMixAsync(batchesPerDevice: 3, samplesPerBatch: 100);
        var sequence = await Server.Store.GetChangeSequenceAsync("alice", CancellationToken.None).Bounded();

        var (changes, token, _) = await ChangeFeedApi.ReadAllAsync(
            Server, Token, pageSize: 10, new ChangeFilter { Types_ = { DataType.Ecg }, ExcludeDeletions = true });

        Assert.Empty(changes);
        Assert.Equal(ChangeFeedApi.TokenAt(sequence), token);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("c1.")]
    [InlineData("c1.-1")]
    [InlineData("c1.007")]
    [InlineData("c1. 7")]
    [InlineData("c1.99999999999999999999")]
    [InlineData("c2.5")]
    [InlineData("C1.5")]
    public async Task A_token_this_server_did_not_issue_is_invalid_argument(string token)
    {
        await IngestMixAsync(batchesPerDevice: 1, samplesPerBatch: 10);

        var error = await ChangeFeedApi.RefusedAsync(() => Feed.ChangesAsync(new ChangesRequest { SinceToken = token }, SyncApi.As(Token)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(ErrorReason.ChangeTokenInvalid, SyncApi.Detail(error).Reason);
        Assert.Contains("since_token", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_beyond_the_users_feed_is_invalid_argument()
    {
        await IngestMixAsync(batchesPerDevice: 1, samplesPerBatch: 10);
        var sequence = await Server.Store.GetChangeSequenceAsync("alice", CancellationToken.None).Bounded();

        var atEnd = await Feed.ChangesAsync(new ChangesRequest { SinceToken = ChangeFeedApi.TokenAt(sequence) }, SyncApi.As(Token)).Bounded();
        var error = await ChangeFeedApi.RefusedAsync(() =>
            Feed.ChangesAsync(new ChangesRequest { SinceToken = ChangeFeedApi.TokenAt(sequence + 1) }, SyncApi.As(Token)).ResponseAsync);

        Assert.Empty(atEnd.Changes);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(ErrorReason.ChangeTokenInvalid, SyncApi.Detail(error).Reason);
    }

    [Fact]
    public async Task An_unspecified_type_in_the_filter_is_invalid_argument()
    {
        var error = await ChangeFeedApi.RefusedAsync(() => Feed.ChangesAsync(
            new ChangesRequest { Filter = new ChangeFilter { Types_ = { DataType.Unspecified } } }, SyncApi.As(Token)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("DATA_TYPE_UNSPECIFIED", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bob")]
    [InlineData("nobody-at-all")]
    public async Task Another_users_feed_is_permission_denied_whether_or_not_that_user_exists(string owner)
    {
        var bob = await Server.CreateUserAsync("bob");
        await new ChangeFeedWorkload(10).IngestAsync(Server, bob, "bobs-watch", 1);

        var error = await ChangeFeedApi.RefusedAsync(() =>
            Feed.ChangesAsync(new ChangesRequest { OwnerUserId = owner }, SyncApi.As(Token)).ResponseAsync);
        var own = await Feed.ChangesAsync(new ChangesRequest { OwnerUserId = "alice" }, SyncApi.As(Token)).Bounded();
        var bobsOwn = await Feed.ChangesAsync(new ChangesRequest(), SyncApi.As(bob)).Bounded();

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(ErrorReason.NoGrant, SyncApi.Detail(error).Reason);
        Assert.Empty(own.Changes); // alice ingested nothing: bob's changes never leak into her feed
        Assert.Equal(10, bobsOwn.Changes.Count);
    }

    [Fact]
    public async Task A_token_below_the_stores_floor_is_expired_with_what_to_do()
    {
        await using var server = await TestServer.StartAsync(null, builder => ChangeFeedApi.WithFeedFloor(builder, 5));
        var token = await server.CreateUserAsync("carol");
        await new ChangeFeedWorkload(10).IngestAsync(server, token, "watch-1", 1);
        var feed = ChangeFeedApi.Client(server);

        var error = await ChangeFeedApi.RefusedAsync(() =>
            feed.ChangesAsync(new ChangesRequest { SinceToken = ChangeFeedApi.TokenAt(4, "carol") }, SyncApi.As(token)).ResponseAsync);
        var atFloor = await feed.ChangesAsync(new ChangesRequest { SinceToken = ChangeFeedApi.TokenAt(5, "carol") }, SyncApi.As(token)).Bounded();
        var fromStart = await feed.ChangesAsync(new ChangesRequest(), SyncApi.As(token)).Bounded();

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal(ErrorReason.ChangeTokenExpired, SyncApi.Detail(error).Reason);
        Assert.Contains("from the start with an empty since_token", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(6ul, atFloor.Changes[0].Sequence);
        Assert.Equal(6ul, fromStart.Changes[0].Sequence); // an empty token starts at the floor
    }
}
