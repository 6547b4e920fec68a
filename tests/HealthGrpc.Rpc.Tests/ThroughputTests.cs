using System.Diagnostics;
using Google.Protobuf;
using HealthGrpc.Rpc.Tests.Echo;
using Xunit.Abstractions;

namespace HealthGrpc.Rpc.Tests;

public sealed class ThroughputTests(ITestOutputHelper output)
{
    private const int Count = 100_000;

    [Fact]
    public async Task ClientStreaming_100kSmallMessages_OverOneCall()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var message = new EchoRequest { Payload = ByteString.CopyFrom(new byte[96]), Count = 1 };
        Assert.InRange(message.CalculateSize(), 95, 105);

        // Warm-up (JIT, connection).
        await RunAsync(channel, message, 2_000);
        var sw = Stopwatch.StartNew();
        var response = await RunAsync(channel, message, Count);
        sw.Stop();
        Assert.Equal(Count, response.Count);
        var rate = Count / sw.Elapsed.TotalSeconds;
        output.WriteLine($"client-streaming: {Count} x {message.CalculateSize()} B in {sw.Elapsed.TotalMilliseconds:F0} ms = {rate:F0} msg/s");
        Assert.True(rate > 20_000, $"{rate:F0} msg/s");
    }

    [Fact]
    public async Task ServerStreaming_100kSmallMessages_OverOneCall()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = server.CreateChannel();
        var request = new EchoRequest { Payload = ByteString.CopyFrom(new byte[94]), Count = Count };
        var sw = Stopwatch.StartNew();
        using var call = channel.ServerStreaming(EchoMethods.ServerStream, request);
        var received = 0;
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        await foreach (var _ in call.ResponseStream.WithCancellation(cts.Token))
        {
            received++;
        }

        sw.Stop();
        Assert.Equal(Count, received);
        var rate = Count / sw.Elapsed.TotalSeconds;
        output.WriteLine($"server-streaming (flush per message): {Count} in {sw.Elapsed.TotalMilliseconds:F0} ms = {rate:F0} msg/s");
        Assert.True(rate > 20_000, $"{rate:F0} msg/s");
    }

    private static async Task<EchoResponse> RunAsync(RpcChannel channel, EchoRequest message, int count)
    {
        using var call = channel.ClientStreaming(EchoMethods.ClientStream);
        for (var i = 0; i < count; i++)
        {
            await call.RequestStream.WriteAsync(message);
        }

        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync.Timed();
    }
}
