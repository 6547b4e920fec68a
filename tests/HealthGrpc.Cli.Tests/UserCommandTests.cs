using Grpc.Core;
using HealthGrpc.Cli.Tests.Infrastructure;

namespace HealthGrpc.Cli.Tests;

public sealed class UserCommandTests
{
    [Fact]
    public async Task UserCreate_IsIdempotent_AndListShowsTheUsersAsTableAndJson()
    {
        using var store = new TempStore();
        (await Healthgrpc.RunAsync("user", "create", "alice", "--store", store.Path)).Succeeded();
        (await Healthgrpc.RunAsync("user", "create", "alice", "--store", store.Path)).Succeeded();
        await Healthgrpc.CreateUserWithTokenAsync(store.Path, "bob");

        var table = (await Healthgrpc.RunAsync("user", "list", "--store", store.Path)).Succeeded().Stdout;
        Assert.Contains("alice", table, StringComparison.Ordinal);
        Assert.Contains("bob", table, StringComparison.Ordinal);

        var users = (await Healthgrpc.RunAsync("user", "list", "--json", "--store", store.Path)).Succeeded().Json().EnumerateArray().ToList();
        Assert.Equal(["alice", "bob"], users.Select(u => u.GetProperty("userId").GetString()));
        Assert.Equal([0, 1], users.Select(u => u.GetProperty("activeTokens").GetInt32()));
        Assert.All(users, u => Assert.Equal(System.Text.Json.JsonValueKind.Null, u.GetProperty("disabledAt").ValueKind));
    }

    [Fact]
    public async Task UserDisable_RefusesItsTokensAtOnce_OnARunningServer()
    {
        using var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        using var server = await ServeProcess.StartAsync(store.Path);
        await server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(token)).ResponseAsync.Bounded();

        (await Healthgrpc.RunAsync("user", "disable", "alice", "--store", store.Path)).Succeeded();

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.UploadAsync(Batches.Upload(2), ServeProcess.Bearer(token)).ResponseAsync.Bounded());
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("user 'alice' is disabled", refused.Status.Detail, StringComparison.Ordinal);
        var users = (await Healthgrpc.RunAsync("user", "list", "--json", "--store", store.Path)).Succeeded().Json();
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, users[0].GetProperty("disabledAt").ValueKind);
    }

    [Fact]
    public async Task UserDisable_UnknownUser_ExitsOne()
    {
        using var store = new TempStore();
        (await Healthgrpc.RunAsync("user", "create", "alice", "--store", store.Path)).Succeeded();

        var run = await Healthgrpc.RunAsync("user", "disable", "mallory", "--store", store.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no user 'mallory'", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserList_MissingStore_ExitsOneNamingThePath_AndCreatesNothing()
    {
        using var store = new TempStore();

        var run = await Healthgrpc.RunAsync("user", "list", "--store", store.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"no store at '{store.Path}'", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(store.Path));
    }
}
