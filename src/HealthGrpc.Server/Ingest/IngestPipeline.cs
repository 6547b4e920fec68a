using System.Diagnostics;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Observability;
using HealthGrpc.Server.Quotas;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// One batch from wire to durable result: enforce limits, validate and normalize, commit (group-committed by the store),
/// and return what happened as a <see cref="BatchOutcome"/> (the service builds the Ack). Knows nothing of gRPC:
/// refusals are <see cref="SyncRejectedException"/>; the stored ack's bytes come from <paramref name="encodeAck"/>.
/// Outcomes are counted in <see cref="ServerMetrics"/> when one is given (the load harness's baseline runs without);
/// per-user quotas are checked by <see cref="QuotaGate"/> when the store keeps them.
/// </summary>
internal sealed class IngestPipeline(
    IHealthStore store, IngestLimits limits, IngestBudget budget, TimeProvider clock, StoredAckEncoder encodeAck,
    ServerMetrics? metrics = null, QuotaGate? quotas = null)
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

    /// <summary>The state a device starting a Sync stream is welcomed with; refuses a fenced epoch right away.</summary>
    public async Task<DeviceWelcome> WelcomeAsync(string userId, DeviceIdentity device, CancellationToken ct)
    {
        CheckDevice(device);
        var state = await store.GetDeviceStateAsync(userId, device.DeviceId, device.Epoch, ct);
        if (state.Fenced)
        {
            throw Fenced(device, state.NewestEpoch, state.HighWaterMark);
        }

        return new DeviceWelcome(state.HighWaterMark, clock.GetUtcNow());
    }

    /// <summary>
    /// Reserves a stream's next batch's share of the server-wide <see cref="IngestBudget"/> (its size from the gRPC length
    /// prefix) before the batch is read, so a stream that must wait does so without holding it parsed. Pass the result to
    /// <see cref="AdmitAsync(string, DeviceIdentity, Batch, long, long, CancellationToken)"/> or back to <see cref="Unreserve"/>.
    /// </summary>
    public ValueTask<long> ReserveAsync(long wireBytes, CancellationToken ct) => budget.ReserveAsync(wireBytes, ct);

    public void Unreserve(long reserved) => budget.Release(reserved);

    /// <summary>Admits a batch that arrived on its own (unary Upload): its share is taken now, after parsing.</summary>
    public ValueTask<Task<BatchOutcome>> AdmitAsync(string userId, DeviceIdentity device, Batch batch, CancellationToken ct) =>
        AdmitAsync(userId, device, batch, batch.CalculateSize(), reserved: 0, ct);

    /// <summary>
    /// Takes the batch's share of the budget (what <paramref name="reserved"/> lacks, or all of it), then validates the
    /// batch (on the caller's thread, so batches of one stream reach the store in order) and returns the task of its
    /// durable outcome. The share is released when the commit completes; the reservation is consumed in every case.
    /// </summary>
    public async ValueTask<Task<BatchOutcome>> AdmitAsync(string userId, DeviceIdentity device, Batch batch, long batchBytes, long reserved, CancellationToken ct)
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

        if (quotas is not null)
        {
            try
            {
                await quotas.CheckAsync(userId, device.DeviceId, device.Epoch, batch, ct);
            }
            catch
            {
                budget.Release(reserved);
                throw;
            }
        }

        var granted = await TakeShareAsync(batchBytes, reserved, ct);
        Task<BatchOutcome> commit;
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

    private async Task<BatchOutcome> ReleaseWhenDoneAsync(Task<BatchOutcome> commit, long granted)
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

    private Task<BatchOutcome> Ingest(string userId, DeviceIdentity device, Batch batch)
    {
        var validated = _validator.Validate(batch);
        var rejections = validated.Rejections;
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
            result => encodeAck(userId, result, rejections));
        return CommitAsync(ingest, device, userId, rejections);
    }

    // Not cancellable: once validated, a batch either commits or fails as a whole.
    private async Task<BatchOutcome> CommitAsync(IngestBatch ingest, DeviceIdentity device, string userId, List<ItemRejection> rejections)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = await store.CommitAsync(ingest, CancellationToken.None);
        metrics?.Committed(Stopwatch.GetElapsedTime(started));
        BatchOutcome result = outcome switch
        {
            CommitOutcome.Committed committed => new BatchOutcome.Committed(userId, committed.Result, rejections),
            CommitOutcome.Duplicate duplicate => new BatchOutcome.Duplicate(ingest.BatchSeq, duplicate.OriginalAckBytes, duplicate.HighWaterMark),
            CommitOutcome.SequenceGap gap => throw new SyncRejectedException(ErrorReason.SequenceGap,
                $"batch_seq {ingest.BatchSeq} skips ahead: the device's high-water mark is {gap.HighWaterMark}; send {gap.HighWaterMark + 1} next.",
                gap.HighWaterMark),
            CommitOutcome.EpochFenced fenced => throw Fenced(device, fenced.CurrentEpoch, fenced.HighWaterMark),
            _ => throw new InvalidOperationException($"Unknown commit outcome {outcome.GetType().Name}."),
        };
        metrics?.Counted(result);
        return result;
    }

    private static SyncRejectedException Fenced(DeviceIdentity device, ulong currentEpoch, ulong highWaterMark) =>
        new(ErrorReason.EpochFenced,
            $"epoch {device.Epoch} of device '{device.DeviceId}' is fenced by newer epoch {currentEpoch}.",
            highWaterMark,
            currentEpoch);
}
