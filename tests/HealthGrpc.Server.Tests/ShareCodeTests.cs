using Grpc.Core;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.SharingApi;

namespace HealthGrpc.Server.Tests;

/// <summary>A share code: a read-only bearer credential scoped exactly like its grant, for someone without an account.</summary>
public sealed class ShareCodeTests : ServerTest
{
    [Fact]
    public async Task A_share_code_reads_exactly_its_grant_with_or_without_naming_the_owner()
    {
        var data = await UploadOwnerDataAsync(Server, Token);
        var created = await GrantAsync(Server, Token, HeartRateOnDay2(null));
        var code = created.ShareCode;
        await Server.CreateUserAsync("bob");

        var unnamed = await Server.Query().ReadSamplesAsync(TwoDays(""), SyncApi.As(code)).Bounded();
        var named = await Server.Query().ReadSamplesAsync(TwoDays("alice"), SyncApi.As(code)).Bounded();
        var changes = await ChangeFeedApi.Client(Server).ChangesAsync(new ChangesRequest(), SyncApi.As(code)).Bounded();
        var aggregates = await Server.Query().GetAggregatesAsync(DailyCounts(""), SyncApi.As(code)).Bounded();
        var otherOwner = await DeniedAsync(() => Server.Query().ReadSamplesAsync(TwoDays("bob"), SyncApi.As(code)).ResponseAsync);
        await DeniedAsync(() => Server.Query().ReadSamplesAsync(TwoDays("", DataType.Steps), SyncApi.As(code)).ResponseAsync);

        Assert.Matches("^hgs_[A-Za-z0-9_-]{43}$", code);
        Assert.True(created.Grant.ShareCode);
        Assert.Equal("", created.Grant.GranteeUserId);
        var shared = data.HeartRateDay2.Select(sample => sample.Uuid).ToList();
        Assert.Equal(shared, SampleUuids(unnamed));
        Assert.Equal(shared, SampleUuids(named));
        Assert.Equal(shared, SampleUuids(changes.Changes));
        Assert.Equal([0ul, 1ul], aggregates.Buckets.Select(bucket => bucket.Count));
        Assert.Equal("no active grant lets you read owner_user_id's data.", otherOwner);
    }

    [Fact]
    public async Task A_share_code_cannot_write_or_administer_and_stops_working_when_revoked()
    {
        await UploadOwnerDataAsync(Server, Token);
        var created = await GrantAsync(Server, Token, HeartRateOnDay2(null));
        var code = created.ShareCode;

        var upload = await RefusedAsync(() => Server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(1, Batches.NewUuids(1)), Batches.Device("doctor")), SyncApi.As(code)).ResponseAsync);
        var sync = await RefusedAsync(async () =>
        {
            using var call = Server.Client.Sync(SyncApi.As(code));
            await call.ResponseStream.MoveNext(CancellationToken.None).Bounded();
        });
        var checkpoint = await RefusedAsync(() => Server.Client.GetCheckpointAsync(new GetCheckpointRequest { DeviceId = "owner-watch" }, SyncApi.As(code)).ResponseAsync);
        var list = await RefusedAsync(() => Server.Sharing().ListGrantsAsync(new ListGrantsRequest(), SyncApi.As(code)).ResponseAsync);
        var grant = await RefusedAsync(() => Server.Sharing().CreateGrantAsync(HeartRateOnDay2(null), SyncApi.As(code)).ResponseAsync);
        await Server.Sharing().RevokeGrantAsync(new RevokeGrantRequest { GrantId = created.Grant.GrantId }, SyncApi.As(Token)).Bounded();
        var revoked = await RefusedAsync(() => Server.Query().ReadSamplesAsync(TwoDays(""), SyncApi.As(code)).ResponseAsync);

        Assert.All([upload, sync, checkpoint, list, grant], error =>
        {
            Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
            Assert.Contains("share code only reads", error.Status.Detail, StringComparison.Ordinal);
        });
        Assert.Equal(6, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded()); // the owner's six, nothing from the code
        Assert.Equal(StatusCode.Unauthenticated, revoked.StatusCode);
        Assert.Contains("revoked", revoked.Status.Detail, StringComparison.Ordinal);
    }

    private static async Task<RpcException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call).Bounded();
}
