using System.Collections.Concurrent;
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

    private sealed class LogCapture : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Entries { get; } = new();

        /// <summary>Completes when the interceptor logged that the caller went away.</summary>
        public TaskCompletionSource WentAway { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogCapture owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var message = formatter(state, exception) + (exception is null ? string.Empty : $" [{exception.GetType().Name}: {exception.Message}]");
                owner.Entries.Enqueue((logLevel, category, message));
                if (logLevel == LogLevel.Debug && message.Contains("the caller went away", StringComparison.Ordinal))
                {
                    owner.WentAway.TrySetResult();
                }
            }
        }
    }
}
