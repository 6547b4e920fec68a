using Grpc.Core;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.SharingApi;

namespace HealthGrpc.Server.Tests;

/// <summary>SharingService's own RPCs: what CreateGrant refuses, listing by role, revoking, and the audit log.</summary>
public sealed class SharingServiceTests : ServerTest
{
    public static TheoryData<string, string> BadGrants => new()
    {
        { "no-types", "types" },
        { "unspecified-type", "types[1]" },
        { "no-expiry", "expire_time" },
        { "expired", "expire_time" },
        { "end-before-start", "data_end_time" },
        { "no-grantee", "grantee_user_id" },
        { "unknown-grantee", "grantee_user_id" },
        { "grantee-and-code", "grantee_user_id" },
    };

    [Theory]
    [MemberData(nameof(BadGrants))]
    public async Task CreateGrant_refuses_bad_input_with_invalid_argument_naming_the_field(string problem, string field)
    {
        await Server.CreateUserAsync("bob");
        var request = HeartRateOnDay2("bob");
        switch (problem)
        {
            case "no-types": request.Types_.Clear(); break;
            case "unspecified-type": request.Types_.Add(DataType.Unspecified); break;
            case "no-expiry": request.ExpireTime = null; break;
            case "expired": request.ExpireTime = QueryApi.Time(QueryApi.Ms(DateTimeOffset.UtcNow.AddMinutes(-1))); break;
            case "end-before-start": request.DataEndTime = request.DataStartTime; break;
            case "no-grantee": request.GranteeUserId = ""; break;
            case "unknown-grantee": request.GranteeUserId = "nobody"; break;
            default: request.CreateShareCode = true; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Server.Sharing().CreateGrantAsync(request, SyncApi.As(Token)).ResponseAsync).Bounded();

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, QueryApi.ViolatedField(error));
        Assert.StartsWith(field, error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await Server.Sharing().ListGrantsAsync(new ListGrantsRequest { IncludeInactive = true }, SyncApi.As(Token)).Bounded()).Grants);
    }

    [Fact]
    public async Task Granting_to_yourself_is_permission_denied()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Server.Sharing().CreateGrantAsync(HeartRateOnDay2("alice"), SyncApi.As(Token)).ResponseAsync).Bounded();

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task ListGrants_by_role_newest_first_and_revoked_ones_only_when_asked()
    {
        var bob = await Server.CreateUserAsync("bob");
        var first = (await GrantAsync(Server, Token, HeartRateOnDay2("bob"))).Grant;
        var second = (await GrantAsync(Server, Token, HeartRateOnDay2(null))).Grant;
        var toAlice = (await GrantAsync(Server, bob, HeartRateOnDay2("alice"))).Grant;
        await Server.Sharing().RevokeGrantAsync(new RevokeGrantRequest { GrantId = first.GrantId }, SyncApi.As(Token)).Bounded();

        async Task<List<string>> ListAsync(GrantRole role, bool inactive) =>
            (await Server.Sharing().ListGrantsAsync(new ListGrantsRequest { Role = role, IncludeInactive = inactive }, SyncApi.As(Token)).Bounded())
            .Grants.Select(grant => grant.GrantId).ToList();

        Assert.Equal([second.GrantId], await ListAsync(GrantRole.Owner, false));
        Assert.Equal([second.GrantId, first.GrantId], await ListAsync(GrantRole.Owner, true));
        Assert.Equal([toAlice.GrantId], await ListAsync(GrantRole.Grantee, false));
        Assert.Equal([toAlice.GrantId, second.GrantId], await ListAsync(GrantRole.Unspecified, false));
        Assert.Equal(("alice", "bob"), (first.OwnerUserId, first.GranteeUserId));
        Assert.Equal([DataType.HeartRate], first.Types_);
        Assert.Equal((QueryApi.Time(Day2), QueryApi.Time(Day2 + DayMs)), (first.DataStartTime, first.DataEndTime));
    }

    [Fact]
    public async Task RevokeGrant_of_a_grant_that_is_not_yours_is_not_found_and_changes_nothing()
    {
        var bob = await Server.CreateUserAsync("bob");
        var grant = (await GrantAsync(Server, Token, HeartRateOnDay2("bob"))).Grant;

        var byGrantee = await Assert.ThrowsAsync<RpcException>(() =>
            Server.Sharing().RevokeGrantAsync(new RevokeGrantRequest { GrantId = grant.GrantId }, SyncApi.As(bob)).ResponseAsync).Bounded();
        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            Server.Sharing().RevokeGrantAsync(new RevokeGrantRequest { GrantId = "gr_0000000000000000" }, SyncApi.As(Token)).ResponseAsync).Bounded();
        var empty = await Assert.ThrowsAsync<RpcException>(() =>
            Server.Sharing().RevokeGrantAsync(new RevokeGrantRequest(), SyncApi.As(Token)).ResponseAsync).Bounded();
        var again = await Server.Sharing().RevokeGrantAsync(new RevokeGrantRequest { GrantId = grant.GrantId }, SyncApi.As(Token)).Bounded();
        var twice = await Server.Sharing().RevokeGrantAsync(new RevokeGrantRequest { GrantId = grant.GrantId }, SyncApi.As(Token)).Bounded();

        Assert.Equal((StatusCode.NotFound, StatusCode.NotFound), (byGrantee.StatusCode, unknown.StatusCode));
        Assert.Equal(byGrantee.Status.Detail, unknown.Status.Detail);
        Assert.Equal("grant_id", QueryApi.ViolatedField(empty));
        Assert.Equal(again.Grant.RevokeTime, twice.Grant.RevokeTime); // idempotent: the first revocation's time
    }

    [Fact]
    public async Task Every_read_through_a_grant_is_in_the_owners_audit_log_and_nothing_else_is()
    {
        await UploadOwnerDataAsync(Server, Token);
        var bob = await Server.CreateUserAsync("bob");
        var toBob = (await GrantAsync(Server, Token, HeartRateOnDay2("bob"))).Grant;
        var code = await GrantAsync(Server, Token, HeartRateOnDay2(null));
        await Server.Query().ReadSamplesAsync(TwoDays("alice"), SyncApi.As(bob)).Bounded();
        await Server.Query().GetAggregatesAsync(DailyCounts("alice"), SyncApi.As(bob)).Bounded();
        await ChangeFeedApi.Client(Server).ChangesAsync(new ChangesRequest { OwnerUserId = "alice" }, SyncApi.As(bob)).Bounded();
        using (var subscription = Subscribe(Server, bob, "alice"))
        {
            await CatchUpAsync(subscription);
        }

        await Server.Query().ReadSamplesAsync(TwoDays(""), SyncApi.As(code.ShareCode)).Bounded();
        // Not logged: the owner's own reads, and refused reads.
        await Server.Query().ReadSamplesAsync(TwoDays(""), SyncApi.As(Token)).Bounded();
        await DeniedAsync(() => Server.Query().ReadSamplesAsync(TwoDays("alice", DataType.Steps), SyncApi.As(bob)).ResponseAsync);

        var page1 = await Server.Sharing().ListAccessEventsAsync(new ListAccessEventsRequest { PageSize = 3 }, SyncApi.As(Token)).Bounded();
        var page2 = await Server.Sharing().ListAccessEventsAsync(
            new ListAccessEventsRequest { PageSize = 3, PageToken = page1.NextPageToken }, SyncApi.As(Token)).Bounded();
        var bobsOnly = await Server.Sharing().ListAccessEventsAsync(new ListAccessEventsRequest { GrantId = toBob.GrantId }, SyncApi.As(Token)).Bounded();
        var bobsLog = await Server.Sharing().ListAccessEventsAsync(new ListAccessEventsRequest(), SyncApi.As(bob)).Bounded();

        var events = page1.Events.Concat(page2.Events).ToList();
        Assert.Equal(
            ["QueryService.ReadSamples", "ChangeFeedService.Subscribe", "ChangeFeedService.Changes", "QueryService.GetAggregates", "QueryService.ReadSamples"],
            events.Select(e => e.Method));
        Assert.Equal(["", "bob", "bob", "bob", "bob"], events.Select(e => e.ReaderUserId));
        Assert.Equal(code.Grant.GrantId, events[0].GrantId);
        Assert.All(events, e => Assert.Equal([DataType.HeartRate], e.Types_));
        Assert.Equal((QueryApi.Time(Day1), QueryApi.Time(Day2 + DayMs)), (events[^1].DataStartTime, events[^1].DataEndTime));
        Assert.Null(events[2].DataStartTime);
        Assert.Equal("", page2.NextPageToken);
        Assert.Equal(4, bobsOnly.Events.Count);
        Assert.Empty(bobsLog.Events); // the log belongs to the owner; bob gave no grants
    }
}
