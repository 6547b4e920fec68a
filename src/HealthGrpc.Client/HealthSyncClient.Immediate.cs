using HealthGrpc.Contracts.V1;
using Polly.Timeout;

namespace HealthGrpc.Client;

/// <summary>Tier 1: enqueue, then wait for the acks through a few quick tries.</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>
    /// Tier 1: enqueues durably, then tries to deliver now: <see cref="HealthSyncOptions.ImmediateRetryDelays"/> (0 s, 1 s,
    /// 3 s) tries of <see cref="HealthSyncOptions.ImmediateAttemptTimeout"/> (10 s) each, each try waking the engine (and
    /// skipping any backoff). Starts the engine if needed. When the tries fail the data stays queued for the drain.
    /// </summary>
    /// <exception cref="QueueFullException">The queue bounds would be exceeded; nothing was stored.</exception>
    public async Task<ImmediateResult> SendImmediateAsync(
        IReadOnlyList<SampleSet> sampleSets, IReadOnlyList<Deletion>? deletions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampleSets);
        AssignMissingUuids(sampleSets);
        var waiters = new List<(long Id, TaskCompletionSource<Ack?> Tcs)>();
        var enqueue = await EnqueueCoreAsync(sampleSets, deletions, null, SyncTier.Immediate, atomic: false, ids =>
        {
            foreach (var id in ids)
            {
                var tcs = new TaskCompletionSource<Ack?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters[id] = tcs;
                waiters.Add((id, tcs));
            }
        }, cancellationToken).ConfigureAwait(false);
        var attempts = 0;
        if (!StartUnlessStopped())
        {
            foreach (var (id, _) in waiters)
            {
                _waiters.TryRemove(id, out _);
            }

            return new ImmediateResult(enqueue, false, [], 0);
        }

        try
        {
            var all = Task.WhenAll(waiters.Select(w => w.Tcs.Task));
            var initial = _options.ImmediateRetryDelays.Count > 0 ? _options.ImmediateRetryDelays[0] : TimeSpan.Zero;
            if (initial > TimeSpan.Zero)
            {
                await Task.Delay(initial, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }

            await _immediatePipeline.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    Kick();
                    await all.WaitAsync(token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            // Not acked within the quick tries: the batches stay queued for the drain.
        }
        finally
        {
            foreach (var (id, _) in waiters)
            {
                _waiters.TryRemove(id, out _);
            }
        }

        var acks = new List<Ack>();
        var delivered = true;
        foreach (var (_, tcs) in waiters)
        {
            if (tcs.Task.IsCompletedSuccessfully && tcs.Task.Result is { } ack)
            {
                acks.Add(ack);
                delivered &= ack.Outcome != AckOutcome.Rejected;
            }
            else
            {
                delivered = false;
            }
        }

        return new ImmediateResult(enqueue, delivered, acks, attempts);
    }
}
