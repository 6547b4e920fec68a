using HealthGrpc.Interop.Tests.Infrastructure;
using HealthGrpc.Interop.Tests.Server;

namespace HealthGrpc.Interop.Tests;

/// <summary>Our server (h2c) for the buf curl checks.</summary>
public sealed class OurH2cServerFixture : IAsyncLifetime
{
    private InteropServer? _server;

    public int Port => _server?.Port ?? throw new InvalidOperationException("Server not started.");

    public async Task InitializeAsync() => _server = await InteropServer.StartAsync(tls: null);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// `buf curl` (an independent gRPC + reflection client, Go) against our server, with no proto files given: everything it
/// knows about the schema comes from our grpc.reflection service.
/// </summary>
public sealed class BufCurlTests(OurH2cServerFixture server) : IClassFixture<OurH2cServerFixture>
{
    [Fact]
    public async Task List_services_via_reflection_shows_health_and_test_service()
    {
        var output = await BufCurlAsync("--list-services", $"http://127.0.0.1:{server.Port}");
        var services = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains("grpc.testing.TestService", services);
        Assert.Contains("grpc.reflection.v1.ServerReflection", services);
    }

    [Fact]
    public async Task Health_check_via_reflection_answers_serving()
    {
        var output = await BufCurlAsync("-d", "{}", $"http://127.0.0.1:{server.Port}/grpc.health.v1.Health/Check");
        Assert.Matches("\"status\"\\s*:\\s*\"SERVING\"", output);
    }

    [Fact]
    public async Task Unary_call_via_reflection_answers_with_the_requested_payload()
    {
        var output = await BufCurlAsync("-d", "{\"responseSize\": 3}", $"http://127.0.0.1:{server.Port}/grpc.testing.TestService/UnaryCall");
        // Three zero bytes, base64 in protobuf JSON.
        Assert.Matches("\"body\"\\s*:\\s*\"AAAA\"", output);
    }

    private static async Task<string> BufCurlAsync(params string[] args)
    {
        RepoPaths.RequireNodeModules();
        string[] all = ["curl", "--http2-prior-knowledge", "--protocol", "grpc", .. args];
        await using var buf = ExternalProcess.Start(RepoPaths.Buf, all, RepoPaths.Root);
        var exit = await buf.WaitForExitAsync(Timeouts.Process);
        Assert.True(exit == 0, $"`{buf.CommandLine}` exited with {exit}.{buf.Describe()}");
        return buf.Stdout;
    }
}
