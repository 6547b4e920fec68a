using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>What the sync engine is doing.</summary>
public enum SyncState
{
    /// <summary>Not started, or stopped.</summary>
    Stopped,

    /// <summary>Running, nothing to send.</summary>
    Idle,

    /// <summary>Connected (or connecting) and sending.</summary>
    Syncing,

    /// <summary>Waiting before reconnecting (exponential backoff with jitter).</summary>
    BackingOff,

    /// <summary>The server answered UNAUTHENTICATED: paused until the credentials change (<see cref="HealthSyncClient.UpdateToken(string)"/>).</summary>
    PausedUnauthenticated,

    /// <summary>A newer installation of this device exists (EPOCH_FENCED): this installation no longer syncs.</summary>
    Fenced,

    /// <summary>The <see cref="IAccountCredentialsProvider"/> speaks for another account than the store's: paused, nothing is uploaded.</summary>
    PausedAccountMismatch,
}

/// <summary>Kinds of <see cref="SyncEvent"/>.</summary>
public enum SyncEventKind
{
    /// <summary>A batch was stored in the durable queue.</summary>
    Queued,

    /// <summary>A batch was written to the stream (with its batch_seq).</summary>
    Sent,

    /// <summary>A batch was acknowledged (committed now, or a duplicate of an earlier commit) and removed from the queue.</summary>
    Acked,

    /// <summary>An anchor was committed locally, after the ack of the batch that carried it.</summary>
    AnchorCommitted,

    /// <summary>The stream failed; a reconnect is scheduled after <see cref="SyncEvent.RetryDelay"/>.</summary>
    RetryScheduled,

    /// <summary>
    /// Data was quarantined (<see cref="SyncEvent.BatchId"/> is the quarantined batch, see
    /// <see cref="HealthSyncClient.GetQuarantineAsync"/>): an item the server rejected, an item too large to send, or a
    /// whole batch after <see cref="HealthSyncOptions.MaxNonTransientAttempts"/> non-transient failures.
    /// </summary>
    Quarantined,

    /// <summary>An atomic batch was rejected for some of its items: those were quarantined, the rest (with the anchors) is queued again.</summary>
    Requeued,

    /// <summary>Quarantined batches past <see cref="HealthSyncOptions.QuarantineRetention"/> or <see cref="HealthSyncOptions.MaxQuarantinedBatches"/> were deleted (<see cref="SyncEvent.SampleCount"/> batches).</summary>
    QuarantinePurged,

    /// <summary>A Sync stream was opened (Welcome received).</summary>
    Connected,

    /// <summary>Paused on UNAUTHENTICATED.</summary>
    Paused,

    /// <summary>Resumed after new credentials.</summary>
    Resumed,

    /// <summary>A new local store was set up: the epoch chosen and anchors restored from the server's checkpoint.</summary>
    Restored,

    /// <summary>The server's high-water mark did not match the local numbering: unacknowledged batches were renumbered.</summary>
    Renumbered,

    /// <summary>This installation was fenced by a newer epoch of the device.</summary>
    Fenced,

    /// <summary>A reconciliation compared the sources with the server (<see cref="SyncEvent.Reconciliation"/>; <see cref="SyncEvent.SampleCount"/> samples enqueued again).</summary>
    Reconciled,

    /// <summary>The automatic reconciliation of a drain could not ask the server (<see cref="SyncEvent.Error"/>); the drain itself completed.</summary>
    ReconciliationFailed,
}

/// <summary>Something a UI may show. Raised on the engine's thread: handlers must return quickly.</summary>
public sealed record SyncEvent
{
    /// <summary>What happened.</summary>
    public required SyncEventKind Kind { get; init; }

    /// <summary>When.</summary>
    public DateTimeOffset Time { get; init; }

    /// <summary>Local id of the batch concerned, if any.</summary>
    public long? BatchId { get; init; }

    /// <summary>The batch_seq concerned, if any.</summary>
    public ulong? BatchSeq { get; init; }

    /// <summary>Tier of the batch concerned.</summary>
    public SyncTier? Tier { get; init; }

    /// <summary>Items of the batch concerned.</summary>
    public int SampleCount { get; init; }

    /// <summary>The server's ack (<see cref="SyncEventKind.Acked"/>, <see cref="SyncEventKind.Quarantined"/> and <see cref="SyncEventKind.Requeued"/> for a rejection).</summary>
    public Ack? Ack { get; init; }

    /// <summary>The anchor committed (<see cref="SyncEventKind.AnchorCommitted"/>).</summary>
    public SourceAnchor? Anchor { get; init; }

    /// <summary>Delay before the next attempt (<see cref="SyncEventKind.RetryScheduled"/>).</summary>
    public TimeSpan? RetryDelay { get; init; }

    /// <summary>Attempt number (<see cref="SyncEventKind.RetryScheduled"/>).</summary>
    public int Attempt { get; init; }

    /// <summary>A human-readable explanation.</summary>
    public string? Message { get; init; }

    /// <summary>The error, if any.</summary>
    public Exception? Error { get; init; }

    /// <summary>The outcome of a reconciliation (<see cref="SyncEventKind.Reconciled"/>).</summary>
    public ReconciliationResult? Reconciliation { get; init; }
}

/// <summary>A snapshot of the SDK's state for a UI.</summary>
public sealed record SyncStatus
{
    /// <summary>The engine state.</summary>
    public required SyncState State { get; init; }

    /// <summary>The device id.</summary>
    public required string DeviceId { get; init; }

    /// <summary>The local store's epoch (0 until the first contact with the server decided it).</summary>
    public ulong Epoch { get; init; }

    /// <summary>Batches waiting or in flight.</summary>
    public long PendingBatches { get; init; }

    /// <summary>Items in pending or in-flight batches.</summary>
    public long PendingSamples { get; init; }

    /// <summary>Quarantined batches kept locally (not counted against the queue bounds).</summary>
    public long QuarantinedBatches { get; init; }

    /// <summary>Items of the quarantined batches.</summary>
    public long QuarantinedSamples { get; init; }

    /// <summary>Bytes of the pending and in-flight batches (what the queue bound counts).</summary>
    public long QueuedBytes { get; init; }

    /// <summary>Age of the oldest pending batch; null when nothing is pending.</summary>
    public TimeSpan? OldestPendingAge { get; init; }

    /// <summary>Time of the last ack; null when none since the store was created.</summary>
    public DateTimeOffset? LastSuccessfulSync { get; init; }

    /// <summary>Committed anchor per data type.</summary>
    public IReadOnlyList<CommittedAnchor> CommittedAnchors { get; init; } = [];

    /// <summary>The last error of the engine, if the last attempt failed.</summary>
    public string? LastError { get; init; }

    /// <summary>The counts of the last reconciliation (kept across restarts); null when none ran on this store.</summary>
    public ReconciliationSummary? LastReconciliation { get; init; }
}

/// <summary>The outcome of an enqueue.</summary>
/// <param name="BatchIds">Local ids of the stored batches (one per chunk of at most <see cref="HealthSyncOptions.MaxSamplesPerBatch"/> items).</param>
/// <param name="SampleCount">Items enqueued.</param>
public sealed record EnqueueResult(IReadOnlyList<long> BatchIds, int SampleCount);

/// <summary>The outcome of a tier-1 send.</summary>
/// <param name="Enqueue">What was stored durably (always, before any try).</param>
/// <param name="Delivered">True when every batch was acked within the quick tries; false: it stays queued for the drain.</param>
/// <param name="Acks">The acks received (one per batch when delivered).</param>
/// <param name="Attempts">Tries made.</param>
public sealed record ImmediateResult(EnqueueResult Enqueue, bool Delivered, IReadOnlyList<Ack> Acks, int Attempts);
