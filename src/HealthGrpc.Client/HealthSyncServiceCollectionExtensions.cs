using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthGrpc.Client;

/// <summary>
/// The bindable settings of <see cref="HealthSyncOptions"/> (plain settable properties, so
/// <c>services.AddHealthSync(...).BindConfiguration("HealthSync")</c> or <c>Configure</c> can fill them). Everything that
/// is not a plain value (credentials, sources, key provider, logging) comes from the container.
/// </summary>
public sealed class HealthSyncSettings
{
    /// <summary>See <see cref="HealthSyncOptions.ServerAddress"/>.</summary>
    public Uri? ServerAddress { get; set; }

    /// <summary>See <see cref="HealthSyncOptions.DatabasePath"/>.</summary>
    public string DatabasePath { get; set; } = "";

    /// <summary>See <see cref="HealthSyncOptions.DeviceId"/>.</summary>
    public string? DeviceId { get; set; }

    /// <summary>See <see cref="HealthSyncOptions.AccountId"/>.</summary>
    public string? AccountId { get; set; }

    /// <summary>See <see cref="HealthSyncOptions.AccessToken"/> (used when no <see cref="ICredentialsProvider"/> is registered).</summary>
    public string? AccessToken { get; set; }

    /// <summary>See <see cref="HealthSyncOptions.MaxSamplesPerBatch"/>.</summary>
    public int MaxSamplesPerBatch { get; set; } = 5_000;

    /// <summary>See <see cref="HealthSyncOptions.MaxBatchesInFlight"/>.</summary>
    public int MaxBatchesInFlight { get; set; } = 16;

    /// <summary>See <see cref="HealthSyncOptions.AllowInsecureChannel"/>.</summary>
    public bool AllowInsecureChannel { get; set; }

    /// <summary>The HTTP proxy, e.g. <c>http://proxy.corp:3128</c> (a <see cref="System.Net.WebProxy"/>; see <see cref="HealthSyncOptions.Proxy"/>). Null: the environment's.</summary>
    public Uri? ProxyAddress { get; set; }

    /// <summary>See <see cref="HealthSyncOptions.UseProxy"/>.</summary>
    public bool UseProxy { get; set; } = true;

    internal HealthSyncOptions ToOptions(IServiceProvider services)
    {
        var options = new HealthSyncOptions
        {
            ServerAddress = ServerAddress ?? throw new OptionsValidationException(nameof(HealthSyncSettings), typeof(HealthSyncSettings), ["HealthSync:ServerAddress is required."]),
            DatabasePath = DatabasePath,
            DeviceId = DeviceId,
            AccountId = AccountId,
            AccessToken = AccessToken,
            MaxSamplesPerBatch = MaxSamplesPerBatch,
            MaxBatchesInFlight = MaxBatchesInFlight,
            AllowInsecureChannel = AllowInsecureChannel,
            Proxy = ProxyAddress is null ? null : new System.Net.WebProxy(ProxyAddress),
            UseProxy = UseProxy,
            CredentialsProvider = services.GetService<ICredentialsProvider>(),
            QueueKeyProvider = services.GetService<IQueueKeyProvider>(),
            LoggerFactory = services.GetService<ILoggerFactory>(),
        };
        foreach (var source in services.GetServices<ISampleSource>())
        {
            options.Sources.Add(source);
        }

        return options;
    }
}

/// <summary>The container's one <see cref="HealthSyncClient"/>, opened on first use (opening touches the disk, so it is async).</summary>
public sealed class HealthSyncClientProvider(IOptions<HealthSyncSettings> settings, IServiceProvider services) : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private HealthSyncClient? _client;

    /// <summary>The client (opened once, with the bound settings and the registered providers and sources).</summary>
    public async Task<HealthSyncClient> GetClientAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _client) is { } client)
        {
            return client;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _client ??= await HealthSyncClient.OpenAsync(settings.Value.ToOptions(services), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Disposes the client when it was opened.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }

        _lock.Dispose();
    }
}

/// <summary>Registration of the SDK in a <see cref="IServiceCollection"/>.</summary>
public static class HealthSyncServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="HealthSyncClientProvider"/> (singleton) with <see cref="HealthSyncSettings"/> as options;
    /// register an <see cref="ICredentialsProvider"/>, <see cref="IQueueKeyProvider"/>, <see cref="ISampleSource"/>s and
    /// logging in the container to have them used. Returns the options builder (bind it to configuration with
    /// <c>BindConfiguration</c> from Microsoft.Extensions.Options.ConfigurationExtensions).
    /// </summary>
    public static OptionsBuilder<HealthSyncSettings> AddHealthSync(this IServiceCollection services, Action<HealthSyncSettings>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<HealthSyncClientProvider>();
        var builder = services.AddOptions<HealthSyncSettings>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return builder;
    }
}
