namespace HealthGrpc.Storage;

/// <summary>
/// The durable store of the reference server. Takes plain domain records (already validated and
/// normalized by the caller), never protobuf messages; acks are opaque bytes produced by the caller's
/// <see cref="IngestBatch.EncodeAck"/>. Implementations: <see cref="Sqlite.SqliteHealthStore"/> and PostgresHealthStore
/// (src/HealthGrpc.Storage.Postgres), held to the same contract tests.
/// </summary>
public interface IHealthStore : IAccountStore, IAsyncDisposable
{
    /// <summary>Creates the user if it does not exist (idempotent).</summary>
    Task CreateUserAsync(string userId, CancellationToken ct);

    /// <summary>Adds a bearer token for the user, stored as its hash only (e.g. SHA-256). Creates the user if needed. Idempotent.</summary>
    Task AddTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, CancellationToken ct);

    /// <summary>The user owning the token hash, or null when unknown.</summary>
    Task<string?> FindUserByTokenHashAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct);

    /// <summary>
    /// The committed state of (user, device, epoch): the high-water mark of that epoch (0 when unknown), the newest
    /// epoch known for the device (0 when the device never committed) and whether <paramref name="epoch"/> is fenced
    /// (older than the newest). Read-only: a higher epoch is registered by its first committed batch.
    /// </summary>
    Task<DeviceState> GetDeviceStateAsync(string userId, string deviceId, ulong epoch, CancellationToken ct);

    /// <summary>
    /// Commits one batch (group-committed with concurrent batches). Completes only after the transaction holding the
    /// batch committed durably (or, for <see cref="CommitOutcome.Duplicate"/>/<see cref="CommitOutcome.SequenceGap"/>/
    /// <see cref="CommitOutcome.EpochFenced"/>, after the group it was evaluated in committed). Faults when the commit
    /// failed (nothing of the batch is then stored, and nothing may be acked).
    /// </summary>
    Task<CommitOutcome> CommitAsync(IngestBatch batch, CancellationToken ct);

    /// <summary>The device's newest epoch, its high-water mark, the latest anchors per type over all epochs; null when the device never committed.</summary>
    Task<DeviceCheckpoint?> GetCheckpointAsync(string userId, string deviceId, CancellationToken ct);

    /// <summary>Changes of the user with sequence &gt; <paramref name="afterSequence"/>, in sequence order, at most <paramref name="limit"/>.</summary>
    Task<ChangePage> ReadChangesAsync(string userId, long afterSequence, int limit, CancellationToken ct);

    /// <summary>15-minute rollups of the user's quantity samples of one type with bucket start in [fromUnixMs, toUnixMs), ordered by bucket start then source.</summary>
    Task<IReadOnlyList<RollupRecord>> ReadRollupsAsync(string userId, int type, long fromUnixMs, long toUnixMs, CancellationToken ct);

    /// <summary>The user's current change sequence (the last one assigned; 0 when none or unknown user).</summary>
    Task<long> GetChangeSequenceAsync(string userId, CancellationToken ct);

    /// <summary>
    /// The floor of the user's retained change feed: changes with a sequence at or below it may have been purged, so a
    /// reader can resume only from a sequence &gt;= the floor (0 while nothing was ever purged).
    /// </summary>
    Task<long> GetChangeFloorAsync(string userId, CancellationToken ct);

    /// <summary>Raised after each durable commit with the users whose change feeds moved (live subscriptions wake on it).</summary>
    ChangeNotifications ChangeNotifications { get; }

    /// <summary>
    /// Completes when the store's writer is alive and has just committed a (tiny) write to the database's disk; throws
    /// <see cref="HealthStoreUnavailableException"/> when it cannot. Backs the server's health check.
    /// </summary>
    Task CheckWritableAsync(CancellationToken ct);

    /// <summary>A page of the user's discrete samples, series and waveform chunks overlapping a time range (see <see cref="SampleQuery"/>), in <see cref="SampleReadPosition"/> order.</summary>
    Task<SampleReadPage> ReadSamplesAsync(SampleQuery query, CancellationToken ct);

    /// <summary>Total points of the user's stored series (the sum of <see cref="SeriesRecord.PointCount"/>).</summary>
    Task<long> CountSeriesPointsAsync(string userId, CancellationToken ct);
}
