using HealthGrpc.Server.Auth;
using HealthGrpc.Server.ChangeFeed;
using HealthGrpc.Server.Health;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Services;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;
using Microsoft.AspNetCore.Authentication;

namespace HealthGrpc.Server;

/// <summary>
/// Builds the reference server on grpc-dotnet. The same code path serves `dotnet run` and the functional tests (which
/// pass <c>--urls http://127.0.0.1:0</c> and their own <c>--Storage:Path</c>), so tests exercise the real host.
/// Configuration (appsettings.json next to the binary, HEALTHGRPC_* environment variables, command line):
/// <c>Urls</c> (default http://127.0.0.1:5000, h2c), <c>Kestrel:Endpoints</c> for TLS and other addresses,
/// <c>Server:AllowPlaintextOnNetwork</c> (h2c on a non-loopback address), <c>Server:Reflection</c>,
/// <c>Storage:Path</c> (default data/healthgrpc.db), <c>Storage:*</c> store tuning (see <see cref="SqliteStoreOptions"/>),
/// <c>Ingest:*</c> limits (see <see cref="IngestLimits"/>), <c>ChangeFeed:*</c> paging and subscription settings (see
/// <see cref="ChangeFeedOptions"/>).
/// </summary>
public static class ServerHost
{
    /// <param name="args">Command-line configuration (<c>--Key value</c>).</param>
    /// <param name="configure">Runs after the server's own registrations (tests add logging providers here).</param>
    /// <param name="ct">Cancels opening the store.</param>
    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null, CancellationToken ct = default)
    {
        // appsettings.json ships next to the binary: found whatever directory the server is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddEnvironmentVariables("HEALTHGRPC_");
        builder.WebHost.ConfigureKestrel(KestrelDefaults.Apply);
        PlaintextBindingGuard.Check(builder.Configuration);

        var limits = builder.Configuration.GetSection("Ingest").Get<IngestLimits>() ?? new IngestLimits();
        var storePath = Path.GetFullPath(builder.Configuration["Storage:Path"] ?? Path.Combine("data", "healthgrpc.db"));
        Directory.CreateDirectory(Path.GetDirectoryName(storePath)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Storage:WriterCacheKiB, Storage:BusyTimeout and Storage:GroupCommit:* tune the store (SqliteStoreOptions).
        var storeOptions = builder.Configuration.GetSection("Storage").Get<SqliteStoreOptions>() ?? new SqliteStoreOptions();
        var store = await SqliteHealthStore.OpenAsync(storePath, storeOptions, ct);

        // Registered through a factory so the container owns it: disposing the host drains the writer (graceful stop).
        builder.Services.AddSingleton<IHealthStore>(_ => store);
        builder.Services.AddSingleton<IGrantStore>(store);
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IngestBudget>();
        builder.Services.AddSingleton<IngestPipeline>();
        builder.Services.AddSingleton<TokenAuthenticator>();
        // ChangeFeed:* page sizes, heartbeat interval and the slow-subscriber bounds (see ChangeFeedOptions).
        builder.Services.AddSingleton(builder.Configuration.GetSection("ChangeFeed").Get<ChangeFeedOptions>() ?? new ChangeFeedOptions());
        builder.Services.AddSingleton<ChangeFeedHub>();
        builder.Services.AddSingleton<ChangePager>();
        builder.Services.AddSingleton<ChangeSubscriptions>();
        builder.Services.AddSingleton<ReadAccessResolver>();

        builder.Services.AddAuthentication(BearerTokenAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenAuthenticationHandler>(BearerTokenAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization(AuthPolicies.Configure);
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = limits.MaxMessageBytes;
            grpc.Interceptors.Add<ErrorMappingInterceptor>();
        });
        builder.Services.AddGrpcHealthChecks().AddCheck<StoreHealthCheck>("store");
        var reflection = builder.Configuration.GetValue("Server:Reflection", defaultValue: true);
        if (reflection)
        {
            builder.Services.AddContractReflection();
        }

        // Give in-flight commits time to finish and be acked before the store is disposed.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(15));

        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<UnaryRequestGuard>();
        app.MapGrpcService<Services.SyncService>();
        app.MapGrpcService<Services.QueryService>();
        app.MapGrpcService<Services.ChangeFeedService>();
        app.MapGrpcService<Services.SharingService>();
        app.MapGrpcHealthChecksService();
        if (reflection)
        {
            app.MapGrpcReflectionService();
        }

        app.Logger.LogInformation("HealthGrpc settings: {Files}; store: {Path}", string.Join(", ", SettingsFiles(builder.Configuration)), storePath);
        return app;
    }

    /// <summary>The settings files that exist and were read (operators see which appsettings.json is in effect).</summary>
    private static IEnumerable<string> SettingsFiles(ConfigurationManager configuration) =>
        configuration.Sources.OfType<FileConfigurationSource>()
            .Select(source => source.Path is null ? null : source.FileProvider?.GetFileInfo(source.Path))
            .Where(file => file is { Exists: true, PhysicalPath: not null })
            .Select(file => file!.PhysicalPath!);
}
