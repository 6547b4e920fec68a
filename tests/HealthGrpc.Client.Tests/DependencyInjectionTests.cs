using System.Collections.Concurrent;
using HealthGrpc.Client.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthGrpc.Client.Tests;

/// <summary><c>services.AddHealthSync(...)</c>: settings bound from configuration, providers and logging from the container.</summary>
public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task AddHealthSync_BindsConfiguration_UsesTheContainersCredentials_AndLogsThroughILogger()
    {
        await using var server = await TestServer.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HealthSync:ServerAddress"] = server.Address.ToString(),
            ["HealthSync:DatabasePath"] = Path.Combine(server.Directory, "client.db"),
            ["HealthSync:DeviceId"] = "phone-di",
            ["HealthSync:MaxSamplesPerBatch"] = "7",
        }).Build();
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        services.AddSingleton<ICredentialsProvider>(new StaticCredentialsProvider(server.Token));
        services.AddHealthSync().BindConfiguration("HealthSync");
        await using var container = services.BuildServiceProvider();

        var client = await container.GetRequiredService<HealthSyncClientProvider>().GetClientAsync().WaitAsync(TestClient.Timeout);
        Assert.Same(client, await container.GetRequiredService<HealthSyncClientProvider>().GetClientAsync().WaitAsync(TestClient.Timeout));
        Assert.Equal("phone-di", client.DeviceId);
        var queued = await client.EnqueueAsync([TestClient.HeartRate(20)]).WaitAsync(TestClient.Timeout);
        Assert.Equal(3, queued.BatchIds.Count); // 7 per batch, from the configuration
        await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
        Assert.Equal(20, await server.CountSamplesAsync());
        Assert.Equal(3, logs.Entries.Count(e => e.Category == "HealthGrpc.Client.HealthSyncClient" && e.Level == LogLevel.Debug && e.Message.StartsWith("Sync Acked", StringComparison.Ordinal)));
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Information && e.Message.StartsWith("Sync Connected", StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
