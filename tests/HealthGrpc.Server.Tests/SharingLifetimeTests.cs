using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static HealthGrpc.Server.Tests.SharingApi;

namespace HealthGrpc.Server.Tests;

/// <summary>Revocation and expiry take effect at once: for later calls and for a Subscribe stream already open.</summary>
public sealed class SharingLifetimeTests
{
    [Fact]
    public async Task Revoking_a_grant_through_SharingService_ends_an_open_Subscribe_at_once_with_permission_denied()
    {
        // Neither the grant check interval nor a heartbeat comes round during the test: only the revocation wakes the stream.
        await using var server = await TestServer.StartAsync(null, "--ChangeFeed:GrantCheckInterval", "00:10:00", "--ChangeFeed:HeartbeatInterval", "00:10:00");
        var (alice, bob) = (await server.CreateUserAsync("alice"), await server.CreateUserAsync("bob"));
        var data = await UploadOwnerDataAsync(server, alice);
        var grant = (await GrantAsync(server, alice, HeartRateOnDay2("bob"))).Grant;
        using var subscription = Subscribe(server, bob, "alice");
        Assert.Equal(data.HeartRateDay2.Select(s => s.Uuid), SampleUuids(await CatchUpAsync(subscription)));

        var revoked = await server.Sharing().RevokeGrantAsync(new RevokeGrantRequest { GrantId = grant.GrantId }, SyncApi.As(alice)).Bounded();
        var (error, delivered) = await ReadUntilFailureAsync(subscription);

        Assert.NotNull(revoked.Grant.RevokeTime);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(ErrorReason.NoGrant, SyncApi.Detail(error).Reason);
        Assert.Contains("revoked", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(delivered);
        await DeniedAsync(() => server.Query().ReadSamplesAsync(TwoDays("alice"), SyncApi.As(bob)).ResponseAsync);
    }

    [Fact]
    public async Task A_revocation_written_by_another_process_ends_an_idle_Subscribe_within_the_check_interval()
    {
        // No heartbeat comes round during the test: only the grant check ends the idle stream.
        await using var server = await TestServer.StartAsync(null, "--ChangeFeed:GrantCheckInterval", "00:00:00.2", "--ChangeFeed:HeartbeatInterval", "00:10:00");
        var setup = await SubscribeThroughGrantAsync(server);
        using var subscription = setup.Subscription;

        await RevokeFromAnotherStoreAsync(server, setup.GrantId);
        var (error, _) = await ReadUntilFailureAsync(subscription);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("revoked", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_committed_after_a_revocation_by_another_process_never_reaches_the_stream()
    {
        await using var server = await TestServer.StartAsync(null, "--ChangeFeed:GrantCheckInterval", "00:10:00", "--ChangeFeed:HeartbeatInterval", "00:10:00");
        var setup = await SubscribeThroughGrantAsync(server);
        using var subscription = setup.Subscription;

        await RevokeFromAnotherStoreAsync(server, setup.GrantId);
        // Its commit wakes the stream, which reads it, finds the grant revoked and ends without writing it.
        var afterRevocation = Sample(DataType.HeartRate, Day2 + 3_600_000);
        await QueryApi.UploadAsync(server, setup.AliceToken, [afterRevocation], device: "owner-watch", firstSeq: 2);
        var (error, delivered) = await ReadUntilFailureAsync(subscription);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.DoesNotContain(afterRevocation.Uuid, SampleUuids(delivered));
    }

    [Fact]
    public async Task Expiry_ends_an_open_Subscribe_and_every_later_read_including_a_share_code()
    {
        var clock = new ShiftedClock();
        await using var server = await TestServer.StartAsync(null, builder => builder.Services.AddSingleton<TimeProvider>(clock));
        var (alice, bob) = (await server.CreateUserAsync("alice"), await server.CreateUserAsync("bob"));
        await UploadOwnerDataAsync(server, alice);
        await GrantAsync(server, alice, HeartRateOnDay2("bob", clock));
        var code = (await GrantAsync(server, alice, HeartRateOnDay2(null, clock))).ShareCode;
        await server.Query().ReadSamplesAsync(TwoDays("alice"), SyncApi.As(bob)).Bounded();
        await server.Query().ReadSamplesAsync(TwoDays(""), SyncApi.As(code)).Bounded();
        using var subscription = Subscribe(server, bob, "alice");
        await CatchUpAsync(subscription);

        clock.Offset = TimeSpan.FromHours(2); // both grants expired an hour ago
        var (error, _) = await ReadUntilFailureAsync(subscription);
        var later = await DeniedAsync(() => server.Query().ReadSamplesAsync(TwoDays("alice"), SyncApi.As(bob)).ResponseAsync);
        var withCode = await Assert.ThrowsAsync<RpcException>(() => server.Query().ReadSamplesAsync(TwoDays(""), SyncApi.As(code)).ResponseAsync).Bounded();

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("expired", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("no active grant lets you read owner_user_id's data.", later);
        Assert.Equal(StatusCode.Unauthenticated, withCode.StatusCode);
        Assert.Contains("expired", withCode.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>alice shares heart rate of day 2 with bob, who subscribes to her feed and reads it up to caught_up.</summary>
    private static async Task<(AsyncServerStreamingCall<SubscribeResponse> Subscription, string GrantId, string AliceToken)> SubscribeThroughGrantAsync(TestServer server)
    {
        var (alice, bob) = (await server.CreateUserAsync("alice"), await server.CreateUserAsync("bob"));
        await UploadOwnerDataAsync(server, alice);
        var grant = (await GrantAsync(server, alice, HeartRateOnDay2("bob"))).Grant;
        var subscription = Subscribe(server, bob, "alice");
        await CatchUpAsync(subscription);
        return (subscription, grant.GrantId, alice);
    }

    /// <summary>Revokes through a second store on the same file, as `healthgrpc grant revoke` does: the server hears nothing of it.</summary>
    private static async Task RevokeFromAnotherStoreAsync(TestServer server, string grantId)
    {
        await using var other = await SqliteHealthStore.OpenAsync(server.DatabasePath).Bounded();
        Assert.Equal(GrantRevocation.Revoked, await other.RevokeGrantAsync(grantId, null, DateTimeOffset.UtcNow, CancellationToken.None).Bounded());
    }
}
