using System.Text.Json;
using Grpc.Core;
using HealthGrpc.Cli.Tests.Infrastructure;

namespace HealthGrpc.Cli.Tests;

public sealed class ServeCommandTests
{
    [Fact]
    public async Task ServeHelp_ListsEverySettingOfAppsettingsJson_TheStoreOption_AndKestrelEndpoints()
    {
        var help = (await Healthgrpc.RunAsync("serve", "--help")).Succeeded().Stdout;

        // Every key the shipped appsettings.json sets is discoverable as an option of the same name.
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json")));
        var keys = LeafKeys(settings.RootElement, "").Where(key => !key.StartsWith("Logging:", StringComparison.Ordinal)).ToList();
        Assert.Contains("Ingest:MaxBytesInProgress", keys);
        foreach (var key in keys)
        {
            var option = key == "Storage:Path" ? "--store" : "--" + key;
            Assert.True(help.Contains(option, StringComparison.OrdinalIgnoreCase), $"serve --help does not list {option} (appsettings.json {key}):\n{help}");
        }

        Assert.Contains("--Server:Reflection", help, StringComparison.Ordinal);
        Assert.Contains("--Server:AllowPlaintextOnNetwork", help, StringComparison.Ordinal);
        Assert.Contains("--Kestrel:Endpoints:", help, StringComparison.Ordinal);
        foreach (var setting in new[] { "--Management:Url", "--Telemetry:Traces", "--Logging:Console:FormatterName", "--Server:GrpcWeb", "--Server:JsonTranscoding", "--Cors:AllowedOrigins", "--Cors:AllowCredentials", "--Quotas:MaxDevices", "--Quotas:MaxSamplesPerDay", "--Quotas:MaxStoredBytes" })
        {
            Assert.Contains(setting, help, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Serve_OnTheStore_AcceptsATokenThatUserCreateWroteToTheSameStore()
    {
        using var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        using var server = await ServeProcess.StartAsync(store.Path);

        var response = await server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(token)).ResponseAsync.Bounded();
        Assert.Equal(3u, response.Ack.Accepted);

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.UploadAsync(Batches.Upload(2)).ResponseAsync.Bounded());
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
    }

    [Fact]
    public async Task Serve_InvalidSettingValue_ExitsNonZeroNamingTheSetting()
    {
        using var store = new TempStore();
        var run = await Healthgrpc.RunAsync("serve", "--store", store.Path, "--Ingest:MaxMessageBytes", "lots");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--Ingest:MaxMessageBytes: 'lots'", run.Stdout + run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(store.Path), "a refused command line must not create the store");
    }

    [Fact]
    public async Task Serve_StoragePathOnTheCommandLine_IsRefusedInFavourOfStore()
    {
        using var store = new TempStore();
        var run = await Healthgrpc.RunAsync("serve", "--Storage:Path", store.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("--store PATH", run.Stderr, StringComparison.Ordinal);
    }

    private static IEnumerable<string> LeafKeys(JsonElement element, string prefix) =>
        element.ValueKind == JsonValueKind.Object
            ? element.EnumerateObject().SelectMany(p => LeafKeys(p.Value, prefix.Length == 0 ? p.Name : prefix + ":" + p.Name))
            : [prefix];
}
