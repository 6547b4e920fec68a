using HealthGrpc.Contracts.V1;
using HealthGrpc.Rpc;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Services;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace HealthGrpc.Server;

/// <summary>
/// Builds the reference server. The same code path serves `dotnet run` and the functional tests (which pass
/// <c>--urls http://127.0.0.1:0</c> and their own <c>--Storage:Path</c>), so tests exercise the real host.
/// Configuration (appsettings.json, HEALTHGRPC_* environment variables, command line):
/// <c>Urls</c> (default http://127.0.0.1:5000, h2c), <c>Kestrel:Endpoints</c> for TLS and other addresses,
/// <c>Storage:Path</c> (default data/healthgrpc.db), <c>Storage:*</c> store tuning (see <see cref="SqliteStoreOptions"/>),
/// <c>Ingest:*</c> limits (see <see cref="IngestLimits"/>).
/// </summary>
public static class ServerHost
{
    public static async Task<WebApplication> BuildAsync(string[] args, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddEnvironmentVariables("HEALTHGRPC_");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.UseRpcDefaults();
            // h2c with prior knowledge on plain endpoints; TLS endpoints negotiate h2 by ALPN.
            kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);
        });

        var limits = builder.Configuration.GetSection("Ingest").Get<IngestLimits>() ?? new IngestLimits();
        var storePath = Path.GetFullPath(builder.Configuration["Storage:Path"] ?? Path.Combine("data", "healthgrpc.db"));
        Directory.CreateDirectory(Path.GetDirectoryName(storePath)!);
        // Storage:WriterCacheKiB, Storage:BusyTimeout and Storage:GroupCommit:* tune the store (SqliteStoreOptions).
        var storeOptions = builder.Configuration.GetSection("Storage").Get<SqliteStoreOptions>() ?? new SqliteStoreOptions();
        var store = await SqliteHealthStore.OpenAsync(storePath, storeOptions, ct);

        builder.Services.AddSingleton<IHealthStore>(store);
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IngestBudget>();
        builder.Services.AddSingleton<IngestPipeline>();
        builder.Services.AddSingleton<TokenAuthenticator>();
        builder.Services.AddSingleton<Services.SyncService>();
        builder.Services.AddRpc(options =>
        {
            options.MaxReceiveMessageSize = limits.MaxMessageBytes;
            options.ExceptionMapper = StatusMapper.Map;
        });
        // Give in-flight commits time to finish and be acked before the store is disposed.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(15));

        var app = builder.Build();
        app.MapRpcService<Services.SyncService>(SyncReflection.Descriptor.Services[0]);
        app.MapRpcHealthAndReflection();
        app.Logger.LogInformation("HealthGrpc store: {Path}", storePath);
        return app;
    }
}
