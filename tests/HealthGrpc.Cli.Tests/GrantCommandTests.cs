using System.Text.Json;
using Grpc.Core;
using HealthGrpc.Cli.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Tests;

public sealed class GrantCommandTests
{
    [Fact]
    public async Task GrantCreate_ToAUser_IsListedAndSharesOnlyItsTypes_ThenRevokeEndsAnOpenSubscribeWithPermissionDenied()
    {
        using var store = new TempStore();
        var alice = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        var bob = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "bob");
        var grantId = (await Healthgrpc.RunAsync("grant", "create", "alice", "--to", "bob", "--types", "heart-rate", "--expires-in", "7d", "--store", store.Path))
            .Succeeded().Stdout.Trim();
        using var server = await ServeProcess.StartAsync(store.Path);
        await server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(alice)).ResponseAsync.Bounded();
        var feed = new ChangeFeedService.ChangeFeedServiceClient(server.Channel);
        using var subscription = feed.Subscribe(new SubscribeRequest { OwnerUserId = "alice" }, ServeProcess.Bearer(bob));
        var backlog = 0;
        while (await subscription.ResponseStream.MoveNext().Bounded() && subscription.ResponseStream.Current.KindCase != SubscribeResponse.KindOneofCase.CaughtUp)
        {
            backlog++;
        }

        var listed = Assert.Single((await Healthgrpc.RunAsync("grant", "list", "bob", "--json", "--store", store.Path)).Succeeded().Json().EnumerateArray());
        var steps = await Assert.ThrowsAsync<RpcException>(() => new QueryService.QueryServiceClient(server.Channel).ReadSamplesAsync(
            new ReadSamplesRequest
            {
                OwnerUserId = "alice", Types_ = { DataType.Steps },
                StartTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-3)),
                EndTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            },
            ServeProcess.Bearer(bob)).ResponseAsync.Bounded());
        (await Healthgrpc.RunAsync("grant", "revoke", grantId, "--store", store.Path)).Succeeded();
        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await subscription.ResponseStream.MoveNext().Bounded())
            {
            }
        });
        var audit = (await Healthgrpc.RunAsync("grant", "audit", "alice", "--json", "--store", store.Path)).Succeeded().Json();
        var revokedList = (await Healthgrpc.RunAsync("grant", "list", "--store", store.Path)).Succeeded().Stdout;

        Assert.Matches("^gr_[0-9a-f]{16}$", grantId);
        Assert.Equal(3, backlog);
        Assert.Equal((grantId, "alice", "bob"), (listed.GetProperty("grantId").GetString(), listed.GetProperty("ownerUserId").GetString(), listed.GetProperty("granteeUserId").GetString()));
        Assert.Equal("HeartRate", Assert.Single(listed.GetProperty("types").EnumerateArray()).GetString());
        Assert.Equal(StatusCode.PermissionDenied, steps.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, ended.StatusCode);
        Assert.Contains("revoked", ended.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("ChangeFeedService.Subscribe", Assert.Single(audit.EnumerateArray()).GetProperty("method").GetString());
        Assert.DoesNotContain(grantId, revokedList, StringComparison.Ordinal); // revoked: listed only with --all
        Assert.Contains(grantId, (await Healthgrpc.RunAsync("grant", "list", "--all", "--store", store.Path)).Succeeded().Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantCreate_ShareCode_PrintsOnlyTheCode_WhichReadsButCannotUpload()
    {
        using var store = new TempStore();
        var alice = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        var created = (await Healthgrpc.RunAsync("grant", "create", "alice", "--share-code", "--types", "HEART_RATE", "--expires-in", "2d", "--json", "--store", store.Path)).Succeeded().Json();
        var code = created.GetProperty("shareCode").GetString()!;
        using var server = await ServeProcess.StartAsync(store.Path);
        await server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(alice)).ResponseAsync.Bounded();

        var changes = await new ChangeFeedService.ChangeFeedServiceClient(server.Channel).ChangesAsync(new ChangesRequest(), ServeProcess.Bearer(code)).ResponseAsync.Bounded();
        var upload = await Assert.ThrowsAsync<RpcException>(() => server.Client.UploadAsync(Batches.Upload(2), ServeProcess.Bearer(code)).ResponseAsync.Bounded());
        var listed = (await Healthgrpc.RunAsync("grant", "list", "--json", "--store", store.Path)).Succeeded();

        Assert.Matches("^hgs_[A-Za-z0-9_-]{43}$", code);
        Assert.True(created.GetProperty("grant").GetProperty("shareCode").GetBoolean());
        Assert.Equal(3, changes.Changes.Count);
        Assert.Equal(StatusCode.PermissionDenied, upload.StatusCode);
        Assert.DoesNotContain(code, listed.Stdout, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, Assert.Single(listed.Json().EnumerateArray()).GetProperty("granteeUserId").ValueKind);
    }

    [Theory]
    [InlineData("--types: 'pulse' is not a data type", "--to", "bob", "--types", "pulse", "--expires-in", "1d")]
    [InlineData("--expires-in is required", "--to", "bob", "--types", "steps")]
    [InlineData("--expires-in 2001-01-01: that time has passed", "--to", "bob", "--types", "steps", "--expires-in", "2001-01-01")]
    [InlineData("--until: data_end_time must be after data_start_time", "--to", "bob", "--types", "steps", "--from", "2026-02-01", "--until", "2026-01-01", "--expires-in", "1d")]
    [InlineData("--from soon: expected an ISO 8601 date", "--to", "bob", "--types", "steps", "--from", "soon", "--expires-in", "1d")]
    [InlineData("--to: no user 'mallory'", "--to", "mallory", "--types", "steps", "--expires-in", "1d")]
    [InlineData("--to: grantee_user_id is required", "--types", "steps", "--expires-in", "1d")]
    [InlineData("--to: grantee_user_id must be empty with create_share_code", "--to", "bob", "--share-code", "--types", "steps", "--expires-in", "1d")]
    [InlineData("--types: types must name at least one data type", "--to", "bob", "--expires-in", "1d")]
    public async Task GrantCreate_BadOptions_ExitOneNamingTheOption_AndCreateNothing(string reason, params string[] options)
    {
        using var store = new TempStore();
        await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        await Healthgrpc.CreateUserWithTokenAsync(store.Path, "bob");

        var run = await Healthgrpc.RunAsync(["grant", "create", "alice", .. options, "--store", store.Path]);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Contains(reason, run.Stderr.ReplaceLineEndings(" "), StringComparison.Ordinal);
        Assert.Equal(0, (await Healthgrpc.RunAsync("grant", "list", "--all", "--json", "--store", store.Path)).Succeeded().Json().GetArrayLength());
    }

    [Fact]
    public async Task GrantRevoke_UnknownId_ExitsOne()
    {
        using var store = new TempStore();
        await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");

        var run = await Healthgrpc.RunAsync("grant", "revoke", "gr_0000000000000000", "--store", store.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no grant 'gr_0000000000000000'", run.Stderr, StringComparison.Ordinal);
    }
}
