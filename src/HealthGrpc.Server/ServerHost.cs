using System.Runtime;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.ChangeFeed;
using HealthGrpc.Server.Health;
using HealthGrpc.Server.HttpApi;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Insights;
using HealthGrpc.Server.Observability;
using HealthGrpc.Server.Quotas;
using HealthGrpc.Server.Retention;
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
/// <c>Server:AllowPlaintextOnNetwork</c> (h2c on a non-loopback address), <c>Server:Reflection</c>, <c>Server:GrpcWeb</c>
/// (every service also as gRPC-Web over HTTP/1.1, for browsers and HTTP/1.1-only gateways; default false),
/// <c>Server:JsonTranscoding</c> (the google.api.http routes as JSON over HTTP and /openapi/v1.json; default false),
/// <c>Cors:AllowedOrigins</c> and <c>Cors:AllowCredentials</c> (web pages on other origins; see <see cref="CrossOriginPolicy"/>),
/// <c>Storage:Provider</c> (sqlite, or a provider the host adds: <see cref="StoreProviders"/>), <c>Storage:Path</c> (SQLite,
/// default data/healthgrpc.db), <c>Storage:ConnectionString</c> (PostgreSQL), <c>Storage:*</c> store tuning (see <see cref="SqliteStoreOptions"/>),
/// <c>Ingest:*</c> limits (see <see cref="IngestLimits"/>), <c>ChangeFeed:*</c> paging and subscription settings (see
/// <see cref="ChangeFeedOptions"/>), <c>Management:Url</c> and <c>Telemetry:*</c> (see <see cref="Telemetry"/>),
/// <c>Quotas:*</c> per-user defaults (see <see cref="QuotaOptions"/>), <c>Insights:*</c> (see <see cref="InsightOptions"/>).
/// </summary>
public static class ServerHost
{
    /// <param name="args">Command-line configuration (<c>--Key value</c>).</param>
    /// <param name="configure">Runs after the server's own registrations (tests add logging providers here).</param>
    /// <param name="providers">Store providers besides SQLite that <c>Storage:Provider</c> may name (default: SQLite only).</param>
    /// <param name="ct">Cancels opening the store.</param>
    public static async Task<WebApplication> BuildAsync(
        string[] args, Action<WebApplicationBuilder>? configure = null, StoreProviders? providers = null, CancellationToken ct = default)
    {
        // appsettings.json ships next to the binary: found whatever directory the server is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddEnvironmentVariables("HEALTHGRPC_");
        builder.WebHost.ConfigureKestrel(KestrelDefaults.Apply);
        // gRPC-Web needs an endpoint that speaks HTTP/1.1: a plain one of its own (Kestrel:Endpoints:NAME:Protocols Http1,
        // since h2c cannot share a plain port with HTTP/1.1) or TLS with Http1AndHttp2 (ALPN picks per connection).
        var grpcWeb = builder.Configuration.GetValue("Server:GrpcWeb", defaultValue: false);
        PlaintextBindingGuard.Check(builder.Configuration);

        var limits = builder.Configuration.GetSection("Ingest").Get<IngestLimits>() ?? new IngestLimits();
        // Storage:Provider picks the store (sqlite, the default, or one the host added, e.g. postgres with Storage:ConnectionString).
        var (store, storePath) = (providers ?? StoreProviders.SqliteOnly).Find(builder.Configuration["Storage:Provider"] ?? StoreProviders.Sqlite) is { } opener
            ? await opener(builder.Configuration.GetSection("Storage"), ct)
            : await OpenSqliteAsync(builder.Configuration, ct);

        // Registered through a factory so the container owns it: disposing the host drains the writer (graceful stop).
        builder.Services.AddSingleton<IHealthStore>(_ => store);
        // Sharing (grants, share codes, the audit log): every provider keeps grants.
        builder.Services.AddSingleton(store as IGrantStore ?? throw new InvalidOperationException(
            $"Storage:Provider '{builder.Configuration["Storage:Provider"]}' opened a store that keeps no sharing grants (IGrantStore); the server needs one."));
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IngestBudget>();
        builder.Services.AddSingleton<StoredAckEncoder>(AckWire.Encode);
        builder.Services.AddSingleton<IngestPipeline>();
        // Quotas:* per-user defaults (see QuotaOptions), enforced on a store that keeps overrides and usage.
        builder.Services.AddSingleton(builder.Configuration.GetSection("Quotas").Get<QuotaOptions>() ?? new QuotaOptions());
        if (store is IQuotaStore quotaStore)
        {
            builder.Services.AddSingleton(quotaStore);
            builder.Services.AddSingleton<QuotaGate>();
        }
        builder.Services.AddSingleton<TokenAuthenticator>();
        // ChangeFeed:* page sizes, heartbeat interval and the slow-subscriber bounds (see ChangeFeedOptions).
        builder.Services.AddSingleton(builder.Configuration.GetSection("ChangeFeed").Get<ChangeFeedOptions>() ?? new ChangeFeedOptions());
        builder.Services.AddSingleton<ChangeFeedHub>();
        builder.Services.AddSingleton<ChangePager>();
        builder.Services.AddSingleton<ChangeSubscriptions>();
        // Retention:* (RetentionOptions): per-type purge of raw samples and compaction of stored acks, where the store has it.
        if (store is IRetentionStore retention)
        {
            builder.Services.AddSingleton(retention);
            builder.Services.AddSingleton(builder.Configuration.GetSection("Retention").Get<RetentionOptions>() ?? new RetentionOptions());
            builder.Services.AddSingleton<RetentionService>();
            builder.Services.AddHostedService(services => services.GetRequiredService<RetentionService>());
        }
        builder.Services.AddSingleton<ReadAccessResolver>();
        // Insights:* (InsightOptions): computed in the background after commits, where the store keeps them.
        var insightStore = store as IInsightStore;
        if (insightStore is not null)
        {
            builder.Services.AddSingleton(insightStore);
            builder.Services.AddSingleton(builder.Configuration.GetSection("Insights").Get<InsightOptions>() ?? new InsightOptions());
            builder.Services.AddSingleton<DailyFigureReader>();
            builder.Services.AddSingleton<InsightRecomputer>();
            builder.Services.AddHostedService(services => services.GetRequiredService<InsightRecomputer>());
        }

        builder.Services.AddAuthentication(BearerTokenAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenAuthenticationHandler>(BearerTokenAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization(AuthPolicies.Configure);
        var grpcServer = builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = limits.MaxMessageBytes;
            grpc.Interceptors.Add<CallMetricsInterceptor>(); // outermost: sees the status ErrorMappingInterceptor chose
            grpc.Interceptors.Add<ErrorMappingInterceptor>();
        });
        // Server:JsonTranscoding: the google.api.http routes (/v1/...) and their OpenAPI document (see HttpApi).
        var jsonTranscoding = builder.Configuration.GetValue("Server:JsonTranscoding", defaultValue: false);
        // Cors:* (see CrossOriginPolicy): which web pages on other origins may call the gRPC-Web and JSON routes.
        var crossOrigin = builder.AddCrossOriginPolicy();
        if (jsonTranscoding)
        {
            grpcServer.AddHttpApi();
        }

        builder.Services.AddGrpcHealthChecks().AddCheck<StoreHealthCheck>("store");
        // Management:Url (the /metrics, /healthz, /readyz endpoint) and Telemetry:* traces (see Telemetry).
        builder.AddServerTelemetry();
        var reflection = builder.Configuration.GetValue("Server:Reflection", defaultValue: true);
        if (reflection)
        {
            // Every contract service mapped below: a generic client lists and calls them all without proto files.
            builder.Services.AddContractReflection(
            [
                Contracts.V1.SyncService.Descriptor,
                Contracts.V1.QueryService.Descriptor,
                Contracts.V1.ChangeFeedService.Descriptor,
                Contracts.V1.SharingService.Descriptor,
                .. insightStore is null ? [] : new[] { Contracts.V1.InsightService.Descriptor },
            ]);
        }

        // Give in-flight commits time to finish and be acked before the store is disposed.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(15));

        configure?.Invoke(builder);
        var app = builder.Build();
        if (crossOrigin)
        {
            // First: a preflight is answered here, before anything asks it for the credentials it never carries.
            app.UseCors();
        }

        if (grpcWeb)
        {
            // Before the guard, which then reads the framed (and for grpc-web-text, decoded) message like any other; the
            // guard must know a body was base64 before UseGrpcWeb rewrites its content type.
            app.Use(UnaryRequestGuard.MarkBase64Body);
            app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        }

        if (jsonTranscoding)
        {
            app.MapOpenApiDocument();
        }

        // Before authentication, which reads the store: an unreachable store answers UNAVAILABLE, not HTTP 500.
        app.UseMiddleware<Services.StoreUnavailableMiddleware>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<UnaryRequestGuard>();
        app.MapGrpcService<Services.SyncService>();
        app.MapGrpcService<Services.QueryService>();
        app.MapGrpcService<Services.ChangeFeedService>();
        app.MapGrpcService<Services.SharingService>();
        if (insightStore is not null)
        {
            app.MapGrpcService<Services.InsightService>();
        }
        app.MapGrpcHealthChecksService();
        if (reflection)
        {
            app.MapGrpcReflectionService();
        }

        app.Logger.LogInformation("HealthGrpc settings: {Files}; store: {Path}", string.Join(", ", SettingsFiles(builder.Configuration)), storePath);
        // What bounds the server's memory, as the runtime applied it: the GC mode and conserve-memory level come from the
        // host's runtimeconfig.json (or DOTNET_GC* variables), so an operator sees which ones are in effect.
        app.Logger.LogInformation(
            "Memory: {GcMode} GC, conserve memory {ConserveMemory}, ingest budget {BudgetBytes} bytes in progress",
            GCSettings.IsServerGC ? "server" : "workstation",
            GC.GetConfigurationVariables().GetValueOrDefault("GCConserveMem") ?? 0,
            limits.MaxBytesInProgress);
        return app;
    }

    private static async Task<(IHealthStore Store, string Description)> OpenSqliteAsync(ConfigurationManager configuration, CancellationToken ct)
    {
        var storePath = Path.GetFullPath(configuration["Storage:Path"] ?? Path.Combine("data", "healthgrpc.db"));
        Directory.CreateDirectory(Path.GetDirectoryName(storePath)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Storage:WriterCacheKiB, Storage:BusyTimeout and Storage:GroupCommit:* tune the store (SqliteStoreOptions).
        var storeOptions = configuration.GetSection("Storage").Get<SqliteStoreOptions>() ?? new SqliteStoreOptions();
        return (await SqliteHealthStore.OpenAsync(storePath, storeOptions, ct), storePath);
    }

    /// <summary>The settings files that exist and were read (operators see which appsettings.json is in effect).</summary>
    private static IEnumerable<string> SettingsFiles(ConfigurationManager configuration) =>
        configuration.Sources.OfType<FileConfigurationSource>()
            .Select(source => source.Path is null ? null : source.FileProvider?.GetFileInfo(source.Path))
            .Where(file => file is { Exists: true, PhysicalPath: not null })
            .Select(file => file!.PhysicalPath!);
}
