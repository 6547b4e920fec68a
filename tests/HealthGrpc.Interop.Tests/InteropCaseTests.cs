using HealthGrpc.Interop.Tests.Client;

namespace HealthGrpc.Interop.Tests;

/// <summary>The interop case names, one theory row each.</summary>
public static class InteropCases
{
    public static TheoryData<string> All => [.. InteropClient.Cases];
}

/// <summary>grpc-js interop client -> HealthGrpc.Rpc server over h2c (prior knowledge).</summary>
public sealed class GrpcJsClientToOurServerH2c(GrpcJsClientH2cFixture run) : IClassFixture<GrpcJsClientH2cFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public void Case_passes(string testCase) => run.AssertPassed(testCase);

    [Fact]
    public void Client_exit_code_is_nonzero_exactly_when_a_case_failed()
    {
        run.ThrowIfSetupFailed();
        Assert.Equal(InteropClient.Cases.Order(), run.Results.Keys.Order());
        Assert.Equal(run.Results.Values.Any(r => !r.Ok) ? 1 : 0, run.ClientExitCode);
    }
}

/// <summary>grpc-js interop client -> HealthGrpc.Rpc server over TLS (ALPN h2, self-signed localhost certificate).</summary>
public sealed class GrpcJsClientToOurServerTls(GrpcJsClientTlsFixture run) : IClassFixture<GrpcJsClientTlsFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public void Case_passes(string testCase) => run.AssertPassed(testCase);
}

/// <summary>HealthGrpc.Rpc interop client -> grpc-js server over h2c.</summary>
public sealed class OurClientToGrpcJsServerH2c(GrpcJsServerH2cFixture server) : IClassFixture<GrpcJsServerH2cFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public Task Case_passes(string testCase) => server.RunAsync(testCase);
}

/// <summary>HealthGrpc.Rpc interop client -> grpc-js server over TLS.</summary>
public sealed class OurClientToGrpcJsServerTls(GrpcJsServerTlsFixture server) : IClassFixture<GrpcJsServerTlsFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public Task Case_passes(string testCase) => server.RunAsync(testCase);
}
