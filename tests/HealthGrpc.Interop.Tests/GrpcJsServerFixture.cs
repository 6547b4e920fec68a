using System.Net;
using System.Text.Json;
using HealthGrpc.Interop.Tests.Client;
using HealthGrpc.Interop.Tests.Infrastructure;
using HealthGrpc.Rpc;

namespace HealthGrpc.Interop.Tests;

/// <summary>
/// Direction HealthGrpc.Rpc client -> grpc-js server: starts the grpc-js interop server (node tests/interop/server.js)
/// once per fixture; every theory row runs one case with our <see cref="RpcChannel"/>.
/// </summary>
public abstract class GrpcJsServerFixture(bool tls) : IAsyncLifetime
{
    private TestCertificate? _certificate;
    private ExternalProcess? _server;
    // The channel owns (and disposes) the flag handler.
    private (RpcChannel Channel, ResponseFlagHandler Flags)? _client;
    private Exception? _setupError;

    public string Transport => tls ? "TLS" : "h2c";

    public async Task InitializeAsync()
    {
        try
        {
            RepoPaths.RequireNodeModules();
            _certificate = tls ? TestCertificate.Create() : null;
            List<string> args = [Path.Combine(RepoPaths.InteropDir, "server.js"), "--host=127.0.0.1", "--port=0"];
            if (_certificate is not null)
            {
                args.Add("--use_tls=true");
                args.Add($"--cert={_certificate.CertificatePemPath}");
                args.Add($"--key={_certificate.KeyPemPath}");
            }

            _server = ExternalProcess.Start("node", args, RepoPaths.Root);
            var line = await _server.ReadLineAsync(Timeouts.Step)
                ?? throw new InvalidOperationException($"grpc-js server exited before listening.{_server.Describe()}");
            using var doc = JsonDocument.Parse(line);
            var port = doc.RootElement.GetProperty("listening").GetInt32();

            var certificate = _certificate;
            var transport = new SocketsHttpHandler
            {
                AutomaticDecompression = DecompressionMethods.None,
                UseProxy = false,
                UseCookies = false,
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = TimeSpan.FromSeconds(10),
            };
            if (certificate is not null)
            {
                transport.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, errors) => certificate.Validate(presented, errors);
            }

            var flags = new ResponseFlagHandler(transport);
            var scheme = certificate is null ? "http" : "https";
            _client = (RpcChannel.Create(new Uri($"{scheme}://127.0.0.1:{port}"), new RpcChannelOptions { HttpHandler = flags }), flags);
        }
#pragma warning disable CA1031 // Any setup failure is reported by every row (with its cause), instead of an opaque fixture error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _setupError = ex;
        }
    }

    /// <summary>Runs one interop case against the grpc-js server; failures carry the server's output.</summary>
    public async Task RunAsync(string testCase)
    {
        if (_setupError is not null)
        {
            throw new InvalidOperationException($"HealthGrpc client -> grpc-js server ({Transport}) could not start: {_setupError.Message}", _setupError);
        }

        var (channel, flags) = _client!.Value;
        var client = new InteropClient(channel, flags, new PeerCapabilities(CompressesResponses: false));
        try
        {
            await client.RunAsync(testCase).WithTimeout(Timeouts.Step);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"HealthGrpc client -> grpc-js server ({Transport}): {testCase} failed: {ex.Message}{_server!.Describe()}", ex);
        }
    }

    public async Task DisposeAsync()
    {
        _client?.Channel.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificate?.Dispose();
    }
}

public sealed class GrpcJsServerH2cFixture() : GrpcJsServerFixture(tls: false);

public sealed class GrpcJsServerTlsFixture() : GrpcJsServerFixture(tls: true);
