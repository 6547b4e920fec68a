using HealthGrpc.Cli.Tests.Import;
using HealthGrpc.Cli.Tests.Infrastructure;

namespace HealthGrpc.Cli.Tests;

public sealed class SimulateCommandTests
{
    [Fact]
    public async Task Simulate_RunsTheFleetForTheDuration_AndTheServerStoredExactlyWhatItAcked()
    {
        using var f = await ImportFixture.StartAsync();

        var summary = (await Healthgrpc.RunAsync("simulate", "--devices", "4", "--rate-hz", "20", "--duration", "3s", "--server", f.Server.Address.ToString(), "--token", f.Token, "--json"))
            .Succeeded().Json();

        var accepted = summary.GetProperty("accepted").GetInt64();
        Assert.True(accepted > 0, $"nothing acked: {summary}");
        Assert.Equal(summary.GetProperty("batchesSent").GetInt64(), summary.GetProperty("acks").GetInt64());
        Assert.Equal(summary.GetProperty("samplesSent").GetInt64(), accepted);
        Assert.Equal(accepted, f.StoredByType().GetValueOrDefault(1));
        Assert.InRange(summary.GetProperty("seconds").GetDouble(), 3, 30);
    }

    [Theory]
    [InlineData("--devices", "0", "--devices 0: expected 1..10000")]
    [InlineData("--duration", "soon", "--duration soon: expected 30s, 5m, 1h or hh:mm:ss")]
    public async Task Simulate_BadOption_ExitsOneNamingIt(string option, string value, string message)
    {
        var run = await Healthgrpc.RunAsync("simulate", option, value, "--server", "http://127.0.0.1:1", "--token", "t");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
    }
}
