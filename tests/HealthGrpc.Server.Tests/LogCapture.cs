using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace HealthGrpc.Server.Tests;

/// <summary>Records what the server logs (add it with builder.Logging.AddProvider and a Debug filter).</summary>
internal sealed class LogCapture : ILoggerProvider
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
