using System.Text;
using System.Text.Json;
using HealthGrpc.Cli.Tests.Infrastructure;

namespace HealthGrpc.Cli.Tests;

/// <summary>The trace and log options of `healthgrpc serve`, seen where an operator sees them: on its output.</summary>
public sealed class ServeObservabilityTests
{
    private const string UploadMethod = "/healthgrpc.v1.SyncService/Upload";

    [Fact]
    public async Task JsonConsoleLogs_PrintTheRequestOfAGrpcCall_AsOneJsonObjectWithItsStructuredState()
    {
        using var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        using var server = await ServeProcess.StartAsync(
            store.Path,
            "--Logging:Console:FormatterName", "json",
            // Hosting's "Request starting" line is the one log entry every call writes; appsettings.json quiets it.
            "--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "Information");

        await server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(token)).ResponseAsync.Bounded();

        var line = await server.NextLineAsync(line => line.Contains("Request starting", StringComparison.Ordinal));
        using var entry = JsonDocument.Parse(line);
        var root = entry.RootElement;
        Assert.Equal("Information", root.GetProperty("LogLevel").GetString());
        Assert.Equal("Microsoft.AspNetCore.Hosting.Diagnostics", root.GetProperty("Category").GetString());
        Assert.Contains(UploadMethod, root.GetProperty("Message").GetString(), StringComparison.Ordinal);
        // Structured: the request's parts are fields of their own, not only words in the message.
        var state = root.GetProperty("State");
        Assert.Equal("POST", state.GetProperty("Method").GetString());
        Assert.Equal(UploadMethod, state.GetProperty("Path").GetString());
    }

    [Fact]
    public async Task ConsoleTraces_ExportAServerSpanForAGrpcCall_NamedAfterItsMethod()
    {
        using var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        using var server = await ServeProcess.StartAsync(store.Path, "--Telemetry:Traces", "console");

        await server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(token)).ResponseAsync.Bounded();

        // The console exporter prints one "Activity.Name: value" line per field of each span it exports.
        var name = await server.NextLineAsync(line => line.StartsWith("Activity.DisplayName:", StringComparison.Ordinal));
        Assert.Contains(UploadMethod, name, StringComparison.Ordinal);
        var kind = await server.NextLineAsync(line => line.StartsWith("Activity.Kind:", StringComparison.Ordinal));
        Assert.Equal("Server", kind["Activity.Kind:".Length..].Trim());
    }

    [Fact]
    public async Task OtlpTraces_SendASpanForAGrpcCall_ToTheConfiguredCollector()
    {
        using var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        await using var collector = await OtlpCollector.StartAsync();
        using var server = await ServeProcess.StartAsync(store.Path, "--Telemetry:Traces", "otlp", "--Telemetry:OtlpEndpoint", collector.Address.ToString());

        await server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(token)).ResponseAsync.Bounded();

        // The exporter batches spans (OTEL_BSP_SCHEDULE_DELAY, 5 s by default) and sends them on its own schedule.
        var export = Encoding.UTF8.GetString(await collector.NextExportAsync());
        Assert.Contains(UploadMethod, export, StringComparison.Ordinal);
        Assert.Contains("healthgrpc", export, StringComparison.Ordinal); // the service.name resource attribute
    }
}
