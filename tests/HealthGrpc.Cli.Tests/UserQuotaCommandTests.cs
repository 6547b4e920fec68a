using Grpc.Core;
using HealthGrpc.Cli.Tests.Infrastructure;

namespace HealthGrpc.Cli.Tests;

public sealed class UserQuotaCommandTests
{
    [Fact]
    public async Task UserQuota_SetsTheUsersOwnLimit_WhichARunningServerEnforcesOnTheNextBatch()
    {
        using var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        using var server = await ServeProcess.StartAsync(store.Path);
        await server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(token)).ResponseAsync.Bounded();

        // 3 items stored today; a limit of 4 leaves no room for the next batch of 3.
        (await Healthgrpc.RunAsync("user", "quota", "alice", "--samples-per-day", "4", "--store", store.Path)).Succeeded();

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.UploadAsync(Batches.Upload(2), ServeProcess.Bearer(token)).ResponseAsync.Bounded());
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("quota of 4 items stored per UTC day", refused.Status.Detail, StringComparison.Ordinal);

        var shown = (await Healthgrpc.RunAsync("user", "quota", "alice", "--json", "--store", store.Path)).Succeeded().Json();
        Assert.Equal(4, shown.GetProperty("limits").GetProperty("maxSamplesPerDay").GetInt64());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, shown.GetProperty("limits").GetProperty("maxDevices").ValueKind);
        Assert.Equal(3, shown.GetProperty("usage").GetProperty("samplesToday").GetInt64());
        Assert.Equal(1, shown.GetProperty("usage").GetProperty("devices").GetInt64());

        // 'default' gives the server's setting (unlimited here) back: the batch is taken.
        (await Healthgrpc.RunAsync("user", "quota", "alice", "--samples-per-day", "default", "--store", store.Path)).Succeeded();
        var taken = await server.Client.UploadAsync(Batches.Upload(2), ServeProcess.Bearer(token)).ResponseAsync.Bounded();
        Assert.Equal(3u, taken.Ack.Accepted);
    }

    [Fact]
    public async Task UserCreate_TakesQuotaOptions_AndUserQuotaRefusesBadValuesAndUnknownUsers()
    {
        using var store = new TempStore();
        (await Healthgrpc.RunAsync("user", "create", "bob", "--devices", "2", "--stored-bytes", "0", "--store", store.Path)).Succeeded();

        var table = (await Healthgrpc.RunAsync("user", "quota", "bob", "--store", store.Path)).Succeeded().Stdout;
        Assert.Contains("unlimited", table, StringComparison.Ordinal);
        Assert.Contains("default", table, StringComparison.Ordinal);
        var shown = (await Healthgrpc.RunAsync("user", "quota", "bob", "--json", "--store", store.Path)).Succeeded().Json();
        Assert.Equal(2, shown.GetProperty("limits").GetProperty("maxDevices").GetInt64());
        Assert.Equal(0, shown.GetProperty("limits").GetProperty("maxStoredBytes").GetInt64());

        var bad = await Healthgrpc.RunAsync("user", "quota", "bob", "--devices", "-1", "--store", store.Path);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("--devices", bad.Stderr + bad.Stdout, StringComparison.Ordinal);
        var unknown = await Healthgrpc.RunAsync("user", "quota", "nobody", "--store", store.Path);
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("no user 'nobody'", unknown.Stderr, StringComparison.Ordinal);
    }
}
