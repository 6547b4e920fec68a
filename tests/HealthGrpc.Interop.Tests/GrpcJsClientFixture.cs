using System.Text.Json;
using HealthGrpc.Interop.Tests.Infrastructure;
using HealthGrpc.Interop.Tests.Server;

namespace HealthGrpc.Interop.Tests;

/// <summary>
/// Direction grpc-js client -> HealthGrpc.Rpc server: starts our Kestrel interop server, runs the grpc-js interop client
/// once over every case (one process, one JSON line per case) and keeps the per-case results for the theory rows.
/// </summary>
public abstract class GrpcJsClientFixture(bool tls) : IAsyncLifetime
{
    private readonly Dictionary<string, CaseResult> _results = new(StringComparer.Ordinal);
    private TestCertificate? _certificate;
    private InteropServer? _server;
    private Exception? _setupError;

    public string Transport => tls ? "TLS" : "h2c";

    public int ClientExitCode { get; private set; } = -1;

    public string ClientOutput { get; private set; } = string.Empty;

    public IReadOnlyDictionary<string, CaseResult> Results => _results;

    public async Task InitializeAsync()
    {
        try
        {
            RepoPaths.RequireNodeModules();
            _certificate = tls ? TestCertificate.Create() : null;
            _server = await InteropServer.StartAsync(_certificate);
            List<string> args =
            [
                Path.Combine(RepoPaths.InteropDir, "client.js"),
                "--server_host=127.0.0.1",
                $"--server_port={_server.Port}",
                "--test_case=all",
                "--case_timeout_ms=20000",
            ];
            if (_certificate is not null)
            {
                args.Add("--use_tls=true");
                args.Add($"--ca={_certificate.CertificatePemPath}");
                args.Add("--server_host_override=localhost");
            }

            await using var client = ExternalProcess.Start("node", args, RepoPaths.Root);
            ClientExitCode = await client.WaitForExitAsync(Timeouts.Process);
            ClientOutput = client.Describe();
            foreach (var line in client.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var result = JsonSerializer.Deserialize<CaseResult>(line, JsonOptions)
                    ?? throw new InvalidOperationException($"Unreadable grpc-js client line: {line}");
                _results[result.Case] = result;
            }
        }
#pragma warning disable CA1031 // Any setup failure is reported by every row (with its cause), instead of an opaque fixture error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _setupError = ex;
        }
    }

    /// <summary>Fails with the grpc-js client's own message when <paramref name="testCase"/> did not pass.</summary>
    public void AssertPassed(string testCase)
    {
        if (_setupError is not null)
        {
            throw new InvalidOperationException($"grpc-js client -> HealthGrpc server ({Transport}) could not run: {_setupError.Message}", _setupError);
        }

        if (!_results.TryGetValue(testCase, out var result))
        {
            Assert.Fail($"grpc-js client printed no result for {testCase} (exit code {ClientExitCode}).{ClientOutput}");
        }

        if (!result.Ok)
        {
            Assert.Fail($"grpc-js client -> HealthGrpc server ({Transport}): {testCase} failed: {result.Error}");
        }
    }

    public void ThrowIfSetupFailed()
    {
        if (_setupError is not null)
        {
            throw new InvalidOperationException($"grpc-js client -> HealthGrpc server ({Transport}) could not run: {_setupError.Message}", _setupError);
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificate?.Dispose();
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    public sealed record CaseResult(string Case, bool Ok, string? Error, long Ms);
}

public sealed class GrpcJsClientH2cFixture() : GrpcJsClientFixture(tls: false);

public sealed class GrpcJsClientTlsFixture() : GrpcJsClientFixture(tls: true);
