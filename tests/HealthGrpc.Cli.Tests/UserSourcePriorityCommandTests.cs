using HealthGrpc.Cli.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Tests;

public sealed class UserSourcePriorityCommandTests
{
    [Fact]
    public async Task UserSourcePriority_StoresTheOrderARunningServerReturns_AndDefaultForgetsIt()
    {
        using var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");

        var set = (await Healthgrpc.RunAsync("user", "source-priority", "alice", "phone", "DEVICE_KIND_MEDICAL_DEVICE", "--json", "--store", store.Path)).Succeeded().Json();
        Assert.Equal(["phone", "medical-device"], set.GetProperty("sourcePriority").EnumerateArray().Select(kind => kind.GetString()));
        using (var server = await ServeProcess.StartAsync(store.Path))
        {
            var query = new QueryService.QueryServiceClient(server.Channel);
            var stored = await query.GetSourcePriorityAsync(new GetSourcePriorityRequest(), ServeProcess.Bearer(token)).ResponseAsync.Bounded();
            Assert.Equal([DeviceKind.Phone, DeviceKind.MedicalDevice], stored.SourcePriority);
        }

        var shown = (await Healthgrpc.RunAsync("user", "source-priority", "alice", "--store", store.Path)).Succeeded().Stdout;
        Assert.Contains("phone > medical-device, then the default order", shown, StringComparison.Ordinal);
        var reset = (await Healthgrpc.RunAsync("user", "source-priority", "alice", "--default", "--json", "--store", store.Path)).Succeeded().Json();
        Assert.True(reset.GetProperty("isDefault").GetBoolean());
    }

    [Theory]
    [InlineData("smartring", "'smartring' is not a device kind")]
    [InlineData("watch watch", "'watch' is listed twice")]
    public async Task UserSourcePriority_RefusesABadOrder_AndStoresNothing(string kinds, string message)
    {
        using var store = new TempStore();
        await Healthgrpc.CreateUserWithTokenAsync(store.Path, "bob");

        var bad = await Healthgrpc.RunAsync(["user", "source-priority", "bob", .. kinds.Split(' '), "--store", store.Path]);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains(message, bad.Stderr, StringComparison.Ordinal);
        var shown = (await Healthgrpc.RunAsync("user", "source-priority", "bob", "--json", "--store", store.Path)).Succeeded().Json();
        Assert.True(shown.GetProperty("isDefault").GetBoolean());
        var unknown = await Healthgrpc.RunAsync("user", "source-priority", "nobody", "watch", "--store", store.Path);
        Assert.Contains("no user 'nobody'", unknown.Stderr, StringComparison.Ordinal);
    }
}
