using HealthGrpc.Contracts.V1;
using Grpc.Net.Client;

namespace HealthGrpc.Client;

/// <summary>Settings of a <see cref="HealthSyncClient"/>.</summary>
public sealed class HealthSyncOptions
{
    /// <summary>
    /// The server, e.g. <c>https://health.example.com</c>. <c>http://</c> (h2c, no TLS) is accepted for a loopback host
    /// only, unless <see cref="AllowInsecureChannel"/> is set: the bearer token must never travel in clear by accident.
    /// </summary>
    public required Uri ServerAddress { get; init; }

    /// <summary>Path of the SDK's local SQLite database (created when missing). Keep it in the app's private storage.</summary>
    public required string DatabasePath { get; init; }

    /// <summary>
    /// The stable device id (1..128 characters). Keep it where it survives a reinstall (iOS keychain, Android
    /// Block Store): a reinstalled app with the same id restores its anchors from the server. Null: the id stored in
    /// the local database, or a new random one for a new database.
    /// </summary>
    public string? DeviceId { get; init; }

    /// <summary>
    /// The account (the app's stable user id, 1..256 characters) the local store belongs to: its queue, epoch and anchors.
    /// A new store is bound to it; a store bound to another account (or opened without one) is refused with an
    /// <see cref="AccountMismatchException"/>. Use <see cref="HealthSyncClient.DatabasePathForAccount"/> for one store per
    /// account. Null: the store is not bound (single-account apps; the SDK then cannot tell accounts apart).
    /// </summary>
    public string? AccountId { get; init; }

    /// <summary>The bearer token source. Null: a <see cref="StaticCredentialsProvider"/> with <see cref="AccessToken"/>.</summary>
    public ICredentialsProvider? CredentialsProvider { get; init; }

    /// <summary>Initial bearer token when no <see cref="CredentialsProvider"/> is given (replace with <see cref="HealthSyncClient.UpdateToken(string)"/>).</summary>
    public string? AccessToken { get; init; }

    /// <summary>Anchored pull sources read by <see cref="HealthSyncClient.CollectAsync"/>.</summary>
    public IList<ISampleSource> Sources { get; } = [];

    /// <summary>Tier of each data type where it differs from <see cref="SyncTiers.DefaultFor"/>.</summary>
    public IDictionary<DataType, SyncTier> TierOverrides { get; } = new Dictionary<DataType, SyncTier>();

    /// <summary>Most samples (items) per batch; larger enqueues are split. Default 5,000 (the server's limit from the Welcome is also respected when sending).</summary>
    public int MaxSamplesPerBatch { get; init; } = 5_000;

    /// <summary>Most unacknowledged batches on the stream (the Welcome's limit wins when lower). Default 16.</summary>
    public int MaxBatchesInFlight { get; init; } = 16;

    /// <summary>Bound of the queue in items (samples and deletions) of pending and in-flight batches (quarantined ones do not count). Default 2,000,000.</summary>
    public long MaxQueuedSamples { get; init; } = 2_000_000;

    /// <summary>Bound of the queue in encoded bytes of pending and in-flight batches (quarantined ones do not count). Default 512 MiB.</summary>
    public long MaxQueuedBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>
    /// How many times a batch answered by a non-transient status (INTERNAL, UNKNOWN, INVALID_ARGUMENT, DATA_LOSS,
    /// UNIMPLEMENTED, OUT_OF_RANGE, FAILED_PRECONDITION other than a sequence gap or fencing, PERMISSION_DENIED, NOT_FOUND,
    /// ALREADY_EXISTS) is sent before it is quarantined with the error and the queue moves on. Transient failures
    /// (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, transport errors) back off without bound. Default 5.
    /// </summary>
    public int MaxNonTransientAttempts { get; init; } = 5;

    /// <summary>Quarantined batches older than this are deleted (raising <see cref="SyncEventKind.QuarantinePurged"/>). Default 30 days.</summary>
    public TimeSpan QuarantineRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Most quarantined batches kept; the oldest beyond it are deleted first. Default 10,000.</summary>
    public int MaxQuarantinedBatches { get; init; } = 10_000;

    /// <summary>Window of the tier-3 catch-up re-read. Default 24 h.</summary>
    public TimeSpan CatchUpWindow { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// <see cref="HealthSyncClient.DrainAsync"/> reconciles (<see cref="HealthSyncClient.ReconcileAsync"/>) when the last
    /// complete drain (or, before the first one, the creation of the store) is at least this old. Default 48 h;
    /// <see cref="Timeout.InfiniteTimeSpan"/>: only on demand.
    /// </summary>
    public TimeSpan ReconciliationInterval { get; init; } = TimeSpan.FromHours(48);

    /// <summary>UTC days a reconciliation compares, today included, 1..92. Default 14.</summary>
    public int ReconciliationDays { get; init; } = 14;

    /// <summary>Delays before each tier-1 try (the first is usually zero). Default 0 s, 1 s, 3 s.</summary>
    public IReadOnlyList<TimeSpan> ImmediateRetryDelays { get; init; } = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)];

    /// <summary>Timeout of one tier-1 try (until the ack). Default 10 s.</summary>
    public TimeSpan ImmediateAttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay of the exponential backoff (with jitter). Default 1 s.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest reconnect delay. Default 2 minutes.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A stream with unacknowledged batches and no ack (or Welcome) for this long is considered dead and reopened. Default 30 s.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The stream is closed after being idle (nothing queued, nothing in flight) this long. Default 30 s.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>While paused on UNAUTHENTICATED, ask the credentials provider for a refreshed token this often. Default 1 minute.</summary>
    public TimeSpan CredentialsRetryInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// True: an <c>http://</c> <see cref="ServerAddress"/> to a non-loopback host is allowed (the bearer token then travels
    /// unencrypted). Default false: <see cref="HealthSyncClient.OpenAsync"/> refuses it with an <see cref="ArgumentException"/>.
    /// </summary>
    public bool AllowInsecureChannel { get; init; }

    /// <summary>
    /// The HTTP proxy the SDK's connections go through (a CONNECT tunnel to an <c>https://</c> <see cref="ServerAddress"/>),
    /// e.g. <c>new WebProxy("http://proxy.corp:3128")</c>. Null: the environment's proxy (<see cref="System.Net.Http.HttpClient.DefaultProxy"/>:
    /// <c>HTTPS_PROXY</c>/<c>HTTP_PROXY</c>/<c>ALL_PROXY</c> and <c>NO_PROXY</c> on Linux and macOS, the system settings on
    /// Windows), which skips the <c>NO_PROXY</c> hosts and loopback; a <see cref="System.Net.WebProxy"/> skips local hosts only with
    /// <see cref="System.Net.WebProxy.BypassProxyOnLocal"/> (and its bypass list).
    /// Set on the SDK's handler, or on the <see cref="System.Net.Http.SocketsHttpHandler"/> of <see cref="ConfigureChannel"/>;
    /// <see cref="HealthSyncClient.OpenAsync"/> refuses it with another handler type, and for an <c>http://</c> (h2c) address it
    /// would carry (.NET does not tunnel cleartext HTTP/2 through a proxy).
    /// </summary>
    public System.Net.IWebProxy? Proxy { get; init; }

    /// <summary>
    /// False: connect directly, ignoring <see cref="Proxy"/> and the environment's proxy. Default true (the .NET default:
    /// <see cref="Proxy"/>, or the environment's). Applies to the channel's handler like <see cref="Proxy"/>.
    /// </summary>
    public bool UseProxy { get; init; } = true;

    /// <summary>
    /// Adjusts the <see cref="GrpcChannelOptions"/> of the gRPC channel (Grpc.Net.Client): message sizes, compression, a
    /// custom <see cref="GrpcChannelOptions.HttpHandler"/> (TLS validation, proxy), logging. Called for every channel the
    /// SDK creates: it replaces the channel after a transport failure, so create any handler inside the callback (a
    /// handler set here is disposed with its channel). Without a handler, the SDK uses a <see cref="System.Net.Http.SocketsHttpHandler"/>
    /// with HTTP/2 keepalive pings (60 s delay, 20 s timeout), a 30 s connect timeout and <see cref="Proxy"/>/<see cref="UseProxy"/>;
    /// <see cref="Proxy"/>/<see cref="UseProxy"/> are also applied to a <see cref="System.Net.Http.SocketsHttpHandler"/> set here.
    /// </summary>
    public Action<GrpcChannelOptions>? ConfigureChannel { get; init; }

    /// <summary>Sent in the Hello. Default "healthgrpc-dotnet/1.0.0".</summary>
    public string SdkVersion { get; init; } = "healthgrpc-dotnet/1.0.0";

    /// <summary>
    /// The key of the queued payloads at rest (AES-256-GCM; see <see cref="IQueueKeyProvider"/>). Null: payloads are stored
    /// unencrypted (the files are still owner-only). A store once opened with a key must always be opened with it.
    /// </summary>
    public IQueueKeyProvider? QueueKeyProvider { get; init; }

    /// <summary>Where the SDK logs its events (<see cref="SyncEventKind"/>; see the SDK docs for the levels). Null: no logging.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Clock (tests).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal SyncTier TierOf(DataType type) => TierOverrides.TryGetValue(type, out var tier) ? tier : SyncTiers.DefaultFor(type);
}
