using HealthGrpc.Interop.Tests.Infrastructure;

namespace HealthGrpc.Interop.Tests;

/// <summary>
/// `buf curl` (an independent gRPC + reflection client, Go) against the real server, with no proto files given:
/// everything it knows about the schema, the error details included, comes from the server's reflection service.
/// </summary>
public sealed class BufCurlTests(HealthGrpcServerFixture fixture) : IClassFixture<HealthGrpcServerFixture>
{
    private string Url => $"http://127.0.0.1:{fixture.Server.Address.Port}";

    private string Authorization => $"authorization: Bearer {fixture.Server.TokenOf(HealthGrpcServerFixture.BufCurlUser)}";

    [Fact]
    public async Task List_services_via_reflection_shows_every_contract_service_health_and_reflection()
    {
        var (exit, output) = await BufCurlAsync("--list-services", Url);
        Assert.True(exit == 0, output);
        var services = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("healthgrpc.v1.SyncService", services);
        Assert.Contains("healthgrpc.v1.QueryService", services);
        Assert.Contains("healthgrpc.v1.ChangeFeedService", services);
        Assert.Contains("healthgrpc.v1.SharingService", services);
        Assert.Contains("healthgrpc.v1.InsightService", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains("grpc.reflection.v1.ServerReflection", services);
    }

    [Fact]
    public async Task Health_check_via_reflection_answers_serving()
    {
        var (exit, output) = await BufCurlAsync("-d", "{}", $"{Url}/grpc.health.v1.Health/Check");
        Assert.True(exit == 0, output);
        Assert.Matches("\"status\"\\s*:\\s*\"SERVING\"", output);
    }

    [Fact]
    public async Task Upload_via_reflection_is_acked_committed()
    {
        var request = UploadJson("buf-curl-upload", batchSeq: 1, bpm: 72);
        var (exit, output) = await BufCurlAsync("-H", Authorization, "-d", request, $"{Url}/healthgrpc.v1.SyncService/Upload");
        Assert.True(exit == 0, output);
        Assert.Matches("\"outcome\"\\s*:\\s*\"ACK_OUTCOME_COMMITTED\"", output);
        Assert.Matches("\"accepted\"\\s*:\\s*1", output);
    }

    /// <summary>Needs the server that sends the standard grpc-status-details-bin trailer (issue 9).</summary>
    [Fact]
    public async Task Gap_error_detail_is_decoded_by_a_generic_tool()
    {
        var (_, committed) = await BufCurlAsync("-H", Authorization, "-d", UploadJson("buf-curl-gap", 1, 70), $"{Url}/healthgrpc.v1.SyncService/Upload");
        Assert.Matches("ACK_OUTCOME_COMMITTED", committed);
        var (exit, output) = await BufCurlAsync("-H", Authorization, "-d", UploadJson("buf-curl-gap", 3, 71), $"{Url}/healthgrpc.v1.SyncService/Upload");
        Assert.NotEqual(0, exit);
        Assert.Matches("\"code\"\\s*:\\s*\"failed_precondition\"", output);
        // buf curl reads the standard grpc-status-details-bin trailer and names each detail's type; it prints the value
        // as base64 (it decodes only types compiled into buf itself, not ones it learnt by reflection).
        var detail = System.Text.RegularExpressions.Regex.Match(output, "\"type\"\\s*:\\s*\"healthgrpc.v1.ErrorDetail\",\\s*\"value\"\\s*:\\s*\"([A-Za-z0-9+/_-]*)\"");
        Assert.True(detail.Success, output);
        var value = detail.Groups[1].Value;
        var decoded = HealthGrpc.Contracts.V1.ErrorDetail.Parser.ParseFrom(Convert.FromBase64String(value.PadRight((value.Length + 3) / 4 * 4, '=')));
        Assert.Equal(HealthGrpc.Contracts.V1.ErrorReason.SequenceGap, decoded.Reason);
        Assert.Equal(1ul, decoded.HighWaterMark);
    }

    private static string UploadJson(string deviceId, int batchSeq, int bpm)
    {
        var baseTime = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds() + batchSeq;
        return $$$"""
            {"device": {"deviceId": "{{{deviceId}}}", "epoch": "1"},
             "batch": {"batchSeq": "{{{batchSeq}}}", "sampleSets": [{"type": "DATA_TYPE_HEART_RATE", "unit": "count/min",
               "baseTime": "{{{DateTimeOffset.FromUnixTimeSeconds(baseTime):yyyy-MM-ddTHH:mm:ssZ}}}",
               "samples": [{"startOffsetMs": "0", "scaledValue": "{{{bpm}}}"}]}]}}
            """;
    }

    /// <summary>Runs buf curl; returns its exit code and stdout + stderr (errors are printed on stderr).</summary>
    private static async Task<(int Exit, string Output)> BufCurlAsync(params string[] args)
    {
        RepoPaths.RequireNodeModules();
        string[] all = ["curl", "--http2-prior-knowledge", "--protocol", "grpc", .. args];
        await using var buf = ExternalProcess.Start(RepoPaths.Buf, all, RepoPaths.Root);
        var exit = await buf.WaitForExitAsync(Timeouts.Process);
        return (exit, $"`{buf.CommandLine}` exited with {exit}.{buf.Describe()}");
    }
}
