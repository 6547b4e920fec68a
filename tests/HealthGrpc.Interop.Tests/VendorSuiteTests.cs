using System.Text.Json;
using System.Text.Json.Serialization;
using HealthGrpc.Interop.Tests.Infrastructure;

namespace HealthGrpc.Interop.Tests;

/// <summary>The real server, with one user per vendor case (and one for buf curl), so cases never see each other's data.</summary>
public sealed class HealthGrpcServerFixture : IAsyncLifetime
{
    internal const string BufCurlUser = "buf-curl";
    private HealthGrpcServer? _server;

    internal HealthGrpcServer Server => _server ?? throw new InvalidOperationException("The server did not start.");

    public async Task InitializeAsync()
    {
        RepoPaths.RequireNodeModules();
        _server = await HealthGrpcServer.StartAsync([.. VendorSuiteTests.CaseNames, BufCurlUser]);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// The grpc-js vendor suite (tests/interop/vendor.js): a Node client generated at run time from proto/ alone drives Sync,
/// Upload and GetCheckpoint against the real server, one process per case; each case prints one JSON line, and what it
/// says the server must now hold for its user is checked against the database.
/// </summary>
public sealed class VendorSuiteTests(HealthGrpcServerFixture fixture) : IClassFixture<HealthGrpcServerFixture>
{
    /// <summary>Every case of vendor.js (a test below keeps this list and `vendor.js --list` equal).</summary>
    internal static readonly string[] CaseNames =
    [
        "acks",
        "upload",
        "lost_ack_replay",
        "sequence_gap",
        "sequence_gap_detail",
        "epoch_fence",
        "epoch_fence_detail",
        "uuid_dedup",
        "content_id_dedup",
        "tombstones",
        "series",
        "checkpoint",
        "unauthenticated",
        "status_details_decoder",
    ];

    public static TheoryData<string> Cases => [.. CaseNames];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Vendor_case_passes_against_the_real_server(string name)
    {
        var run = await RunAsync(name);
        Assert.True(run.Result.Ok, $"vendor.js case {name} failed: {run.Result.Error}{run.Output}");
        Assert.Equal(0, run.ExitCode);
        Assert.True(run.Result.Checks > 0, $"vendor.js case {name} checked nothing.");
        if (run.Result.Stored is { } expected)
        {
            var stored = fixture.Server.StoredFor(name);
            var spans = string.Join(',', expected.SeriesSpans?.Select(s => $"{s[0]}-{s[1]}") ?? []);
            Assert.Equal(
                new StoredCounts(expected.Samples, expected.Series, expected.SeriesPoints, expected.Tombstones, spans),
                stored);
        }
    }

    [Fact]
    public async Task A_wrong_expectation_fails_the_case_and_names_it()
    {
        // HEALTHGRPC_VENDOR_SABOTAGE=K inverts the K-th check of a case: a check that held must now fail.
        var run = await RunAsync("acks", new Dictionary<string, string> { ["HEALTHGRPC_VENDOR_SABOTAGE"] = "2" });
        Assert.False(run.Result.Ok);
        Assert.StartsWith("check 2 (sabotaged):", run.Result.Error, StringComparison.Ordinal);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("FAILED acks: check 2", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_case_list_is_the_one_of_vendor_js()
    {
        await using var node = ExternalProcess.Start("node", [RepoPaths.VendorScript, "--list"], RepoPaths.Root);
        var exit = await node.WaitForExitAsync(Timeouts.Process);
        Assert.Equal(0, exit);
        Assert.Equal(CaseNames, node.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    private async Task<CaseRun> RunAsync(string name, IReadOnlyDictionary<string, string>? environment = null)
    {
        var server = fixture.Server;
        await using var node = ExternalProcess.Start(
            "node",
            [RepoPaths.VendorScript, $"--target={server.Target}", $"--token={server.TokenOf(name)}", $"--case={name}"],
            RepoPaths.Root,
            environment);
        var exit = await node.WaitForExitAsync(Timeouts.Process);
        var lines = node.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"vendor.js printed {lines.Length} lines for {name} (exit {exit}).{node.Describe()}{server.Describe()}");
        var result = JsonSerializer.Deserialize<CaseResult>(lines[0], JsonOptions)
            ?? throw new InvalidOperationException($"Unreadable vendor.js line: {lines[0]}");
        Assert.Equal(name, result.Case);
        return new CaseRun(result, exit, node.Stderr, node.Describe());
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private sealed record CaseRun(CaseResult Result, int ExitCode, string Stderr, string Output);

    private sealed record CaseResult(string Case, bool Ok, string? Error, long Ms, int Checks, ExpectedStore? Stored);

    private sealed record ExpectedStore(
        long Samples,
        long Series,
        [property: JsonPropertyName("series_points")] long SeriesPoints,
        long Tombstones,
        [property: JsonPropertyName("series_spans")] long[][]? SeriesSpans);
}
