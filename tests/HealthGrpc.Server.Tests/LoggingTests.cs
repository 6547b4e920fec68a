using Microsoft.Extensions.Logging;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>What operators see in the log: a client going away is routine (debug), not a failure with a stack.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task A_client_cancelling_its_stream_is_logged_at_debug_not_as_a_failure()
    {
        using var capture = new LogCapture();
        await using var server = await TestServer.StartAsync(null, builder =>
        {
            builder.Logging.AddProvider(capture);
            builder.Logging.AddFilter<LogCapture>(null, LogLevel.Debug);
        });
        var token = await server.CreateUserAsync("alice");
        var (stream, _) = await SyncStream.OpenAsync(server.Client, token, Device());
        await stream.SendAsync(HeartRate(1, NewUuids(10)));
        await stream.ReadAckAsync();

        stream.Dispose(); // cancels the call: RST_STREAM to the server
        await capture.WentAway.Task.Bounded();

        // Was: "fail: ErrorMappingInterceptor ... unexpected failure [IOException: The client reset the request stream.]".
        Assert.DoesNotContain(capture.Entries, entry => entry.Level >= LogLevel.Warning);
    }
}
