using System.CommandLine;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Server;

namespace HealthGrpc.Cli.Serve;

/// <summary>`healthgrpc serve`: the reference server (<see cref="ServerHost"/>), every setting it reads listed in --help.</summary>
internal static class ServeCommand
{
    /// <summary>The configuration keys ServerHost reads (appsettings.json, HEALTHGRPC_* variables, command line).</summary>
    private static readonly HostSetting[] Settings =
    [
        HostSetting.Text("urls", "Addresses to listen on, ';'-separated (default http://127.0.0.1:5000: h2c, loopback only)", "URLS"),
        HostSetting.Boolean("Server:Reflection", "Serve gRPC server reflection (default true; switch off for public deployments)"),
        HostSetting.Boolean("Server:GrpcWeb", "Serve every service as gRPC-Web too, on endpoints that speak HTTP/1.1 (a Kestrel:Endpoints:NAME with Protocols Http1, or TLS with Http1AndHttp2) (default false)"),
        HostSetting.Boolean("Server:JsonTranscoding", "Serve Upload, GetCheckpoint and the reads as JSON over HTTP (/v1/...) and the OpenAPI document at /openapi/v1.json, on endpoints that speak HTTP/1.1 (default false)"),
        HostSetting.Text("Cors:AllowedOrigins", "Web page origins that may call gRPC-Web and the JSON routes from a browser, ','-separated (https://app.example), or * for any (default: none)", "ORIGINS"),
        HostSetting.Boolean("Cors:AllowCredentials", "Let those pages send cookies (not needed for bearer tokens; refused with *) (default false)"),
        HostSetting.Text("Management:Url", "Management endpoint, HTTP/1.1 on its own port: /metrics (Prometheus), /healthz, /readyz (default: off), e.g. http://127.0.0.1:9464", "URL"),
        HostSetting.Text("Telemetry:Traces", "Export a trace span per gRPC call: none, console or otlp (default none)", "none|console|otlp"),
        HostSetting.Text("Telemetry:OtlpEndpoint", "OTLP collector for Telemetry:Traces=otlp (default: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4317)", "URL"),
        HostSetting.Text("Logging:Console:FormatterName", "Console log format: simple or json (structured, one JSON object a line) (default simple)", "simple|json"),
        HostSetting.Integer("Quotas:MaxDevices", "Default quota: devices per user (default unlimited; a user's own: healthgrpc user quota)"),
        HostSetting.Integer("Quotas:MaxSamplesPerDay", "Default quota: items stored per user per UTC day (default unlimited)"),
        HostSetting.Integer("Quotas:MaxStoredBytes", "Default quota: stored bytes per user, payloads plus 64 per row (default unlimited)"),
        HostSetting.Boolean("Server:AllowPlaintextOnNetwork", "Allow h2c on a non-loopback address, e.g. behind a TLS-terminating proxy (default false)"),
        HostSetting.Integer("Ingest:MaxSamplesPerBatch", "Discrete samples per batch, over all sample sets (default 10000)"),
        HostSetting.Integer("Ingest:MaxBatchesInFlight", "Unacknowledged batches on one Sync stream (default 16)"),
        HostSetting.Integer("Ingest:MaxMessageBytes", "Largest request message in bytes (default 4194304)"),
        HostSetting.Integer("Ingest:MaxPointsPerSeries", "Points in one series or waveform chunk (default 100000)"),
        HostSetting.Integer("Ingest:MaxBytesInProgress", "Request bytes validated and committed at once over all streams: bounds memory (default 4194304)"),
        HostSetting.Duration("Ingest:StalledSenderRelease", "How long a stream keeps its budget share for a batch still arriving (default 00:00:00.1)"),
        HostSetting.Duration("Ingest:MaxFutureSkew", "How far after the server's clock a sample may start (default 00:10:00)"),
        HostSetting.Integer("Storage:WriterCacheKiB", "SQLite page cache of the writer connection in KiB (default 32768)"),
        HostSetting.Duration("Storage:BusyTimeout", "How long a connection waits for another's lock (default 00:00:30)"),
        HostSetting.Integer("Storage:MaxPoolSize", "PostgreSQL: most connections of this instance, writer and listener included (default 20)"),
        HostSetting.Duration("Storage:ConnectionTimeout", "PostgreSQL: how long a call waits for a pooled connection before UNAVAILABLE (default 00:00:05)"),
        HostSetting.Duration("Storage:HealthProbe:Interval", "PostgreSQL: how often the health check probes the database (default 00:00:01)"),
        HostSetting.Duration("Storage:HealthProbe:Timeout", "PostgreSQL: a probe slower than this reports NOT_SERVING (default 00:00:02)"),
        HostSetting.Boolean("Storage:AllowAsynchronousCommit", "PostgreSQL: start even with synchronous_commit=off (throw-away databases only; default false)"),
        HostSetting.Integer("Storage:GroupCommit:MaxRows", "Rows after which a group commit closes (default 50000)"),
        HostSetting.Duration("Storage:GroupCommit:MaxDelay", "How long the writer waits for more batches before committing (default 00:00:00.002)"),
        HostSetting.Integer("Storage:GroupCommit:QueueCapacity", "Batches waiting for the writer before callers wait (default 1024)"),
        HostSetting.Integer("ChangeFeed:DefaultPageSize", "Changes per Changes page when page_size is 0 (default 1000)"),
        HostSetting.Integer("ChangeFeed:MaxPageSize", "Largest Changes page; a larger page_size is clamped (default 10000)"),
        HostSetting.Integer("ChangeFeed:MaxScannedPerPage", "Most changes one filtered Changes call examines before it returns (default 50000)"),
        HostSetting.Duration("ChangeFeed:HeartbeatInterval", "Heartbeat on an idle Subscribe stream (default 00:00:15)"),
        HostSetting.Integer("ChangeFeed:SubscribeReadSize", "Changes a subscription reads from the store at a time: bounds what a slow subscriber holds (default 256)"),
        HostSetting.Duration("ChangeFeed:SubscribeWriteTimeout", "A Subscribe message not taken this long ends the call with RESOURCE_EXHAUSTED (default 00:00:30)"),
        HostSetting.Duration("ChangeFeed:SubscribeAbandonTimeout", "Then, a stream still not read this long is reset (default 00:02:00)"),
    ];

    public static Command Build()
    {
        var command = new Command("serve", """
            Run the reference server on the store (--store FILE, or --provider postgres --connection-string ...). Every option below is also a key of appsettings.json (next to
            the binary) and a HEALTHGRPC_ environment variable (':' written '__', e.g. HEALTHGRPC_Ingest__MaxMessageBytes).
            Any other ASP.NET Core host option is accepted as --Key value, e.g. a TLS endpoint:
              --Kestrel:Endpoints:Tls:Url https://0.0.0.0:5001 --Kestrel:Endpoints:Tls:Certificate:Path cert.pfx
              --Kestrel:Endpoints:Tls:Certificate:Password ...
            or --Logging:LogLevel:Default Warning.
            """)
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        foreach (var setting in Settings)
        {
            command.Options.Add(setting.Option);
        }

        command.SetAction(async (parse, ct) =>
        {
            if (parse.UnmatchedTokens.Any(token => token.StartsWith("--Storage:Path", StringComparison.OrdinalIgnoreCase)))
            {
                return Terminal.Fail("the store is named with --store PATH (for every verb); --Storage:Path is its appsettings.json key.");
            }

            await using var app = await ServerHost.BuildAsync(HostArguments(parse), PostgresHealthCheck.AddWhenPostgres, PostgresStore.Providers, ct);
            await app.RunAsync();
            return 0;
        });
        return command;
    }

    /// <summary>The host's command-line configuration: the listed settings that were given, the store, then the rest as given.</summary>
    private static string[] HostArguments(ParseResult parse)
    {
        var args = new List<string>();
        foreach (var setting in Settings)
        {
            if (parse.GetValue(setting.Option) is { } value)
            {
                args.Add("--" + setting.Key);
                args.Add(value);
            }
        }

        // Resolved here, the way every admin verb resolves it, so serve and `healthgrpc token create` agree on the file.
        args.Add("--Storage:Path");
        args.Add(StoreLocation.Resolve(parse));
        if (StoreLocation.ResolveProvider(parse) == PostgresStore.Name)
        {
            args.AddRange(["--Storage:Provider", PostgresStore.Name, "--Storage:ConnectionString", StoreLocation.ResolveConnectionString(parse)]);
        }

        args.AddRange(parse.UnmatchedTokens);
        return [.. args];
    }
}
