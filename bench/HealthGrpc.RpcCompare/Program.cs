using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using HealthGrpc.Interop.Tests.Testing;
using HealthGrpc.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;

// HealthGrpc.RpcCompare [--seconds N] [--concurrency N]: our server vs grpc-js with the same client (ours), and our
// client vs the grpc-js client against our server (load-client.js), in one run.
// HealthGrpc.RpcCompare serve: our TestService server (child process mode), prints {"listening":PORT}.
if (args.Length > 0 && args[0] == "serve")
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.ConfigureKestrel(k =>
    {
        k.UseRpcDefaults();
        k.Listen(IPAddress.Loopback, 0, l => l.UseRpcH2c());
    });
    builder.Services.AddRpc();
    builder.Services.AddSingleton<BenchTestService>();
    var app = builder.Build();
    app.MapRpcService<BenchTestService>(TestReflection.Descriptor.Services.Single(s => s.FullName == "grpc.testing.TestService"));
    await app.StartAsync();
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    Console.WriteLine($"{{\"listening\":{new Uri(address).Port}}}");
    await Console.In.ReadToEndAsync();
    await app.StopAsync();
    return 0;
}

var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(double.Parse).FirstOrDefault(5);
var concurrency = args.SkipWhile(a => a != "--concurrency").Skip(1).Select(int.Parse).FirstOrDefault(64);
var repo = FindRepoRoot();
const string OurClient = "HealthGrpc.Rpc client";
const string JsClient = "grpc-js 1.14 client (node)";
var results = new List<(string Server, string Client, string Test, double PerSecond, double ServerCpuPct)>();
for (var round = 0; round < 2; round++)
{
    foreach (var (name, start) in new (string, Func<Process>)[]
    {
        ("HealthGrpc.Rpc (Kestrel)", () => Start("dotnet", "exec", Path.Combine(AppContext.BaseDirectory, "HealthGrpc.RpcCompare.dll"), "serve")),
        ("grpc-js 1.14 (node)", () => Start("node", Path.Combine(repo, "tests/interop/server.js"), "--port=0", "--host=127.0.0.1")),
    })
    {
        using var server = start();
        var line = await server.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"{name} did not start: {await server.StandardError.ReadToEndAsync()}");
        var port = System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("listening").GetInt32();
        using var channel = RpcChannel.Create(new Uri($"http://127.0.0.1:{port}"));
        var unary = RpcMethod<SimpleRequest, SimpleResponse>.From(TestReflection.Descriptor.Services[0].FindMethodByName("UnaryCall"));
        var input = RpcMethod<StreamingInputCallRequest, StreamingInputCallResponse>.From(TestReflection.Descriptor.Services[0].FindMethodByName("StreamingInputCall"));

        // Warm-up both paths.
        for (var i = 0; i < 2_000; i++)
        {
            await channel.UnaryAsync(unary, new SimpleRequest { ResponseSize = 10, Payload = new Payload { Body = ByteString.CopyFrom(new byte[10]) } });
        }

        // Small unary calls/s: `concurrency` callers in a loop for `seconds`.
        var request = new SimpleRequest { ResponseSize = 10, Payload = new Payload { Body = ByteString.CopyFrom(new byte[10]) } };
        long calls = 0;
        var cpu0 = Cpu(server);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                await channel.UnaryAsync(unary, request);
                Interlocked.Increment(ref calls);
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var unaryTest = $"unary calls/s (10 B payloads, {concurrency} concurrent)";
        results.Add((name, OurClient, unaryTest, calls / elapsed, (Cpu(server) - cpu0).TotalSeconds / elapsed * 100));

        // Streamed 100-byte messages/s over one client-streaming call.
        var message = new StreamingInputCallRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[100]) } };
        long sent = 0;
        cpu0 = Cpu(server);
        clock.Restart();
        using (var call = channel.ClientStreaming(input))
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                for (var i = 0; i < 1000; i++)
                {
                    await call.RequestStream.WriteAsync(message);
                }

                sent += 1000;
            }

            await call.RequestStream.CompleteAsync();
            var response = await call.ResponseAsync;
            if (response.AggregatedPayloadSize != sent * 100)
            {
                throw new InvalidOperationException($"{name}: aggregated {response.AggregatedPayloadSize} != {sent * 100}");
            }
        }

        elapsed = clock.Elapsed.TotalSeconds;
        const string streamTest = "streamed 100 B messages/s (one call, acked by the aggregate)";
        results.Add((name, OurClient, streamTest, sent / elapsed, (Cpu(server) - cpu0).TotalSeconds / elapsed * 100));
        if (name.StartsWith("HealthGrpc", StringComparison.Ordinal))
        {
            // The same two loads from the grpc-js client, against the same server process.
            foreach (var (mode, test) in new[] { ("unary", unaryTest), ("stream", streamTest) })
            {
                cpu0 = Cpu(server);
                var (count, took) = await RunJsClientAsync(repo, port, mode, seconds, concurrency);
                results.Add((name, JsClient, test, count / took, (Cpu(server) - cpu0).TotalSeconds / took * 100));
            }
        }

        server.StandardInput.Close();
        server.Kill(entireProcessTree: true);
        await server.WaitForExitAsync();
    }
}

AnsiConsole.Profile.Width = 160;
var servers = new Table().Title("our server vs grpc-js, same client (ours)").AddColumn("test").AddColumn("server").AddColumn(new TableColumn("per second (best of 2)").RightAligned()).AddColumn(new TableColumn("server CPU").RightAligned()).AddColumn(new TableColumn("ours / grpc-js").RightAligned());
var clients = new Table().Title("our client vs grpc-js client, same server (ours)").AddColumn("test").AddColumn("client").AddColumn(new TableColumn("per second (best of 2)").RightAligned()).AddColumn(new TableColumn("server CPU").RightAligned()).AddColumn(new TableColumn("ours / grpc-js").RightAligned());
foreach (var test in results.Select(r => r.Test).Distinct())
{
    var ours = Best(test, "HealthGrpc", OurClient);
    var jsServer = Best(test, "grpc-js", OurClient);
    var jsClient = Best(test, "HealthGrpc", JsClient);
    servers.AddRow(Markup.Escape(test), Markup.Escape(ours.Server), $"{ours.PerSecond:N0}", $"{ours.ServerCpuPct:0}%", $"{ours.PerSecond / jsServer.PerSecond:0.00}x");
    servers.AddRow("", Markup.Escape(jsServer.Server), $"{jsServer.PerSecond:N0}", $"{jsServer.ServerCpuPct:0}%", "");
    clients.AddRow(Markup.Escape(test), OurClient, $"{ours.PerSecond:N0}", $"{ours.ServerCpuPct:0}%", $"{ours.PerSecond / jsClient.PerSecond:0.00}x");
    clients.AddRow("", Markup.Escape(JsClient), $"{jsClient.PerSecond:N0}", $"{jsClient.ServerCpuPct:0}%", "");
}

AnsiConsole.Write(servers);
AnsiConsole.Write(clients);
foreach (var r in results)
{
    Console.WriteLine($"raw: {r.Server} <- {r.Client} | {r.Test} | {r.PerSecond:N0}/s | server CPU {r.ServerCpuPct:0}%");
}

return 0;

(string Server, string Client, string Test, double PerSecond, double ServerCpuPct) Best(string test, string server, string client) =>
    results.Where(r => r.Test == test && r.Server.StartsWith(server, StringComparison.Ordinal) && r.Client == client).MaxBy(r => r.PerSecond);

static async Task<(long Count, double Seconds)> RunJsClientAsync(string repo, int port, string mode, double seconds, int concurrency)
{
    using var client = Start("node", Path.Combine(repo, "bench/HealthGrpc.RpcCompare/load-client.js"), $"--port={port}", $"--mode={mode}",
        $"--seconds={seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}", $"--concurrency={concurrency}");
    var output = await client.StandardOutput.ReadToEndAsync();
    await client.WaitForExitAsync();
    if (client.ExitCode != 0)
    {
        throw new InvalidOperationException($"grpc-js load client ({mode}) failed: {await client.StandardError.ReadToEndAsync()}");
    }

    var json = System.Text.Json.JsonDocument.Parse(output).RootElement;
    return (json.GetProperty("count").GetInt64(), json.GetProperty("seconds").GetDouble());
}

static TimeSpan Cpu(Process p)
{
    p.Refresh();
    return p.TotalProcessorTime;
}

static Process Start(string file, params string[] arguments)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
    foreach (var a in arguments)
    {
        info.ArgumentList.Add(a);
    }

    return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
}

static string FindRepoRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HealthGrpc.sln")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? throw new InvalidOperationException("HealthGrpc.sln not found above the binary");
}

/// <summary>The two grpc.testing methods the comparison calls, as the interop server implements them (minus the interop feature checks).</summary>
internal sealed class BenchTestService
{
    public Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context) =>
        Task.FromResult(new SimpleResponse { Payload = new Payload { Body = ByteString.CopyFrom(new byte[request.ResponseSize]) } });

    public async Task<StreamingInputCallResponse> StreamingInputCall(IAsyncEnumerable<StreamingInputCallRequest> requests, ServerCallContext context)
    {
        var total = 0;
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            total += request.Payload?.Body.Length ?? 0;
        }

        return new StreamingInputCallResponse { AggregatedPayloadSize = total };
    }

    // Not used by the comparison; the binder requires every method of the service.
    public Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context) => UnaryCall(request, context);

    public Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context) =>
        throw new RpcException(new RpcStatus(StatusCode.Unimplemented, "not in the benchmark"));

    public Task FullDuplexCall(IAsyncEnumerable<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context) =>
        throw new RpcException(new RpcStatus(StatusCode.Unimplemented, "not in the benchmark"));

    public Task HalfDuplexCall(IAsyncEnumerable<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context) =>
        throw new RpcException(new RpcStatus(StatusCode.Unimplemented, "not in the benchmark"));

    public Task<Empty> UnimplementedCall(Empty request, ServerCallContext context) =>
        throw new RpcException(new RpcStatus(StatusCode.Unimplemented, "not in the benchmark"));
}
