using HealthGrpc.Cli.Tests.Infrastructure;

namespace HealthGrpc.Cli.Tests;

/// <summary>
/// The memory bound of 1,000 streams (bench/README.md) relies on the runtime applying the GC settings the shipped
/// `healthgrpc` asks for in its runtimeconfig.json. The server reports the level the GC itself has in effect
/// (GC.GetConfigurationVariables), so this fails if the option is dropped from the build or the runtime stops reading it.
/// </summary>
public sealed class ServeMemorySettingsTests
{
    [Fact]
    public async Task Serve_RunsOnWorkstationGc_WithTheConserveMemoryLevelItsRuntimeconfigAsks()
    {
        using var store = new TempStore();
        using var server = await ServeProcess.StartAsync(store.Path);

        var memory = Assert.Single(server.StartupLines, line => line.Contains("Memory: ", StringComparison.Ordinal));
        Assert.Contains("Memory: workstation GC, conserve memory 9,", memory, StringComparison.Ordinal);
    }
}
