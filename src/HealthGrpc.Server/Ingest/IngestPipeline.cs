using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// One batch from wire to durable ack: enforce limits, validate and normalize, commit (group-committed by the store),
/// and answer with the ack stored with the batch. Knows nothing of gRPC: refusals are <see cref="SyncRejectedException"/>.
/// </summary>
internal sealed class IngestPipeline(IHealthStore store, IngestLimits limits, IngestBudget budget, TimeProvider clock)
{
    private readonly BatchValidator _validator = new(limits, clock);

    public IngestLimits Limits => limits;

    /// <summary>Checks a device identity from Hello or Upload.</summary>
    public static void CheckDevice(DeviceIdentity? device)
    {
        if (device is null || device.DeviceId.Length is 0 or > 128)
        {
            throw new SyncRejectedException(ErrorReason.ProtocolViolation, "device.device_id must be 1..128 characters.");
        }

        if (device.Epoch == 0)
        {
            throw new SyncRejectedException(ErrorReason.ProtocolViolation, "device.epoch must be >= 1.");
        }
    }

    /// <summary>The Welcome for a device starting a Sync stream; refuses a fenced epoch right away.</summary>
    public async Task<Welcome> WelcomeAsync(string userId, DeviceIdentity device, CancellationToken ct)
    {
        CheckDevice(device);
        var state = await store.GetDeviceStateAsync(userId, device.DeviceId, device.Epoch, ct);
        if (state.Fenced)
        {
            throw Fenced(device, state.NewestEpoch, state.HighWaterMark);
        }

        return new Welcome
        {
            HighWaterMark = state.HighWaterMark,
            ServerTime = Timestamp.FromDateTimeOffset(clock.GetUtcNow()),
            Limits = new Contracts.V1.Limits
            {
                MaxSamplesPerBatch = (uint)limits.MaxSamplesPerBatch,
                MaxBatchesInFlight = (uint)limits.MaxBatchesInFlight,
                MaxMessageBytes = (uint)limits.MaxMessageBytes,
                MaxPointsPerSeries = (uint)limits.MaxPointsPerSeries,
            },
        };
    }

    /// <summary>
    /// Reserves a stream's next batch's share of the server-wide <see cref="IngestBudget"/> (its size from the gRPC length
    /// prefix) before the batch is read, so a stream that must wait does so without holding it parsed. Pass the result to
    /// <see cref="AdmitAsync(string, DeviceIdentity, Batch, long, long, CancellationToken)"/> or back to <see cref="Unreserve"/>.
    /// </summary>
    public ValueTask<long> ReserveAsync(long wireBytes, CancellationToken ct) => budget.ReserveAsync(wireBytes, ct);

    public void Unreserve(long reserved) => budget.Release(reserved);

    /// <summary>Admits a batch that arrived on its own (unary Upload): its share is taken now, after parsing.</summary>
    public ValueTask<Task<Ack>> AdmitAsync(string userId, DeviceIdentity device, Batch batch, CancellationToken ct) =>
        AdmitAsync(userId, device, batch, batch.CalculateSize(), reserved: 0, ct);

    /// <summary>
    /// Takes the batch's share of the budget (what <paramref name="reserved"/> lacks, or all of it), then validates the
    /// batch (on the caller's thread, so batches of one stream reach the store in order) and returns the task of its
    /// durable ack. The share is released when the commit completes; the reservation is consumed in every case.
    /// </summary>
    public async ValueTask<Task<Ack>> AdmitAsync(string userId, DeviceIdentity device, Batch batch, long batchBytes, long reserved, CancellationToken ct)
    {
        if (batch.BatchSeq == 0)
        {
            budget.Release(reserved);
            throw new SyncRejectedException(ErrorReason.ProtocolViolation,
                "batch.batch_seq must be >= 1 (the first batch of an epoch is 1); got 0.");
        }

        var samples = BatchValidator.CountSamples(batch);
        if (samples > limits.MaxSamplesPerBatch)
        {
            budget.Release(reserved);
            throw new SyncRejectedException(ErrorReason.BatchTooLarge,
                $"batch {batch.BatchSeq} has {samples} samples; the limit is {limits.MaxSamplesPerBatch}. Split it.");
        }

        var granted = await TakeShareAsync(batchBytes, reserved, ct);
        Task<Ack> commit;
        try
        {
            commit = Ingest(userId, device, batch);
        }
        catch
        {
            budget.Release(granted);
            throw;
        }

        return ReleaseWhenDoneAsync(commit, granted);
    }

    private async ValueTask<long> TakeShareAsync(long batchBytes, long reserved, CancellationToken ct)
    {
        var wanted = budget.ShareOf(batchBytes);
        if (wanted <= reserved)
        {
            budget.Release(reserved - wanted);
            return wanted;
        }

        if (budget.TryAcquire(wanted - reserved))
        {
            return wanted;
        }

        // Never wait while holding a reservation: two streams each holding part of the budget and waiting for the rest
        // would block each other for good.
        budget.Release(reserved);
        return await budget.AcquireAsync(wanted, ct);
    }

    private async Task<Ack> ReleaseWhenDoneAsync(Task<Ack> commit, long granted)
    {
        try
        {
            return await commit;
        }
        finally
        {
            budget.Release(granted);
        }
    }

    private Task<Ack> Ingest(string userId, DeviceIdentity device, Batch batch)
    {
        var validated = _validator.Validate(batch);
        var rejections = ToWire(validated.Rejections);
        var atomicReject = batch.Atomic && rejections.Count > 0;
        var ingest = new IngestBatch(
            userId,
            device.DeviceId,
            device.Epoch,
            batch.BatchSeq,
            batch.Atomic,
            validated.Anchors,
            atomicReject ? [] : validated.Samples,
            atomicReject ? [] : validated.Series,
            atomicReject ? [] : validated.Waveforms,
            atomicReject ? [] : validated.Deletions,
            atomicReject ? [] : validated.Records,
            rejections.Count,
            result => AckFor(userId, result, rejections).ToByteArray());
        return CommitAsync(ingest, device);
    }

    // Not cancellable: once validated, a batch either commits or fails as a whole.
    private async Task<Ack> CommitAsync(IngestBatch ingest, DeviceIdentity device)
    {
        var outcome = await store.CommitAsync(ingest, CancellationToken.None);
        switch (outcome)
        {
            case CommitOutcome.Committed committed:
                return Ack.Parser.ParseFrom(committed.AckBytes);
            case CommitOutcome.Duplicate duplicate:
                var original = duplicate.OriginalAckBytes.Length > 0 ? Ack.Parser.ParseFrom(duplicate.OriginalAckBytes) : new Ack { BatchSeq = ingest.BatchSeq };
                original.Outcome = AckOutcome.Duplicate;
                original.HighWaterMark = duplicate.HighWaterMark;
                return original;
            case CommitOutcome.SequenceGap gap:
                throw new SyncRejectedException(ErrorReason.SequenceGap,
                    $"batch_seq {ingest.BatchSeq} skips ahead: the device's high-water mark is {gap.HighWaterMark}; send {gap.HighWaterMark + 1} next.",
                    gap.HighWaterMark);
            case CommitOutcome.EpochFenced fenced:
                throw Fenced(device, fenced.CurrentEpoch, fenced.HighWaterMark);
            default:
                throw new InvalidOperationException($"Unknown commit outcome {outcome.GetType().Name}.");
        }
    }

    private static SyncRejectedException Fenced(DeviceIdentity device, ulong currentEpoch, ulong highWaterMark) =>
        new(ErrorReason.EpochFenced,
            $"epoch {device.Epoch} of device '{device.DeviceId}' is fenced by newer epoch {currentEpoch}.",
            highWaterMark,
            currentEpoch);

    private static Ack AckFor(string userId, CommitResult result, List<Rejection> rejections)
    {
        var ack = new Ack
        {
            BatchSeq = result.BatchSeq,
            Outcome = result.RejectedAtomic ? AckOutcome.Rejected : AckOutcome.Committed,
            Accepted = (uint)result.Accepted,
            Duplicates = (uint)result.Duplicates,
            Replaced = (uint)result.Replaced,
            IgnoredDeleted = (uint)result.IgnoredDeleted,
            Rejected = (uint)result.Rejected,
            HighWaterMark = result.HighWaterMark,
            CommitTime = Timestamp.FromDateTimeOffset(result.CommitTime),
            ChangeToken = ChangeToken.Format(userId, result.ChangeSequence),
        };
        ack.Rejections.AddRange(rejections);
        foreach (var anchor in result.CommittedAnchors)
        {
            ack.CommittedAnchors.Add(ToWire(anchor));
        }

        return ack;
    }

    public static SourceAnchor ToWire(AnchorRecord anchor) => new()
    {
        Type = (DataType)anchor.Type,
        VendorType = anchor.VendorType ?? string.Empty,
        Anchor = ByteString.CopyFrom(anchor.Anchor),
    };

    private static List<Rejection> ToWire(List<ItemRejection> rejections)
    {
        var wire = new List<Rejection>(rejections.Count);
        foreach (var r in rejections)
        {
            wire.Add(new Rejection { Kind = r.Kind, Index = (uint)r.Index, Reason = r.Problem.Reason, Message = r.Problem.Message });
        }

        return wire;
    }
}
