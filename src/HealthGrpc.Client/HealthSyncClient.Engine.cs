using Grpc.Core;
using HealthGrpc.Contracts.V1;
using Polly.Retry;

namespace HealthGrpc.Client;

/// <summary>The engine loop: one session after another, backing off, pausing on credentials, and classifying what a failed session means.</summary>
public sealed partial class HealthSyncClient
{
#pragma warning disable CA1031 // The engine loop survives any failure (it reports it and backs off).
    private async Task RunLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using var kick = CancellationTokenSource.CreateLinkedTokenSource(stop);
            Volatile.Write(ref _kickCts, kick);
            try
            {
                var counts = await _store.GetCountsAsync(stop).ConfigureAwait(false);
                if (counts.PendingBatches == 0)
                {
                    _state = SyncState.Idle;
                    await _work.WaitAsync(Timeout.InfiniteTimeSpan, stop).ConfigureAwait(false);
                    continue;
                }

                _state = SyncState.Syncing;
                await _reconnectPipeline.ExecuteAsync(async _ => await RunSessionGuardedAsync(stop).ConfigureAwait(false), kick.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (stop.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                break;
            }
            catch (OperationCanceledException)
            {
                // Kicked during a backoff: reconnect now.
            }
            catch (UnauthenticatedSyncException e)
            {
                await PauseUntilCredentialsAsync(e.Token, stop).ConfigureAwait(false);
            }
            catch (AccountMismatchException e)
            {
                await PauseWhileOtherAccountAsync(e, stop).ConfigureAwait(false);
            }
            catch (FencedSyncException e)
            {
                _state = SyncState.Fenced;
                _lastError = e.Message;
                Emit(new SyncEvent { Kind = SyncEventKind.Fenced, Message = e.Message, Error = e.InnerException });
                return;
            }
            catch (Exception e)
            {
                // Not a network failure (e.g. the local disk): report and retry later.
                _lastError = e.Message;
                _state = SyncState.BackingOff;
                Emit(new SyncEvent { Kind = SyncEventKind.RetryScheduled, RetryDelay = _options.RetryMaxDelay, Error = e, Message = e.Message });
                try
                {
                    await _work.WaitAsync(_options.RetryMaxDelay, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            finally
            {
                Volatile.Write(ref _kickCts, null);
            }
        }
    }
#pragma warning restore CA1031

    /// <summary>Before each reconnect backoff: the failed attempt is recorded on the batches that were in flight and reported.</summary>
    private async ValueTask OnReconnectRetryAsync(OnRetryArguments<object> args)
    {
        _state = SyncState.BackingOff;
        var error = args.Outcome.Exception?.InnerException ?? args.Outcome.Exception;
        _lastError = error?.Message;
        var next = _options.TimeProvider.GetUtcNow() + args.RetryDelay;
        await _store.RecordAttemptFailureAsync(Interlocked.Exchange(ref _lastFailedIds, []), error?.Message ?? "failed", next, CancellationToken.None).ConfigureAwait(false);
        Emit(new SyncEvent { Kind = SyncEventKind.RetryScheduled, RetryDelay = args.RetryDelay, Attempt = args.AttemptNumber + 1, Error = error, Message = error?.Message });
    }

    private async Task PauseUntilCredentialsAsync(string? rejectedToken, CancellationToken stop)
    {
        _state = SyncState.PausedUnauthenticated;
        _lastError = "UNAUTHENTICATED: waiting for new credentials";
        Emit(new SyncEvent { Kind = SyncEventKind.Paused, Message = _lastError });

        // A token given with UpdateToken stood in for the provider until now: the server refused it, so ask the provider
        // again (at once, it may have a fresh token), instead of pausing on the refused one for good.
        var askNow = rejectedToken is not null && Interlocked.CompareExchange(ref _overrideToken, null, rejectedToken) == rejectedToken;
        while (!stop.IsCancellationRequested)
        {
            var signaled = false;
            try
            {
                if (!askNow)
                {
                    signaled = await _credentialsChanged.WaitAsync(_options.CredentialsRetryInterval, stop).ConfigureAwait(false);
                }

                askNow = false;
                var token = _overrideToken ?? await _credentials.GetTokenAsync(forceRefresh: true, stop).ConfigureAwait(false);
                if (token is not null && (signaled || token != rejectedToken))
                {
                    break;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        _state = SyncState.Syncing;
        Emit(new SyncEvent { Kind = SyncEventKind.Resumed });
    }

    /// <summary>One session; classifies its failure: pause, fence, poison, or a transient error for the backoff.</summary>
    private async Task RunSessionGuardedAsync(CancellationToken stop)
    {
        var session = new SessionState(_options.TimeProvider);
        try
        {
            await RunSessionAsync(session, stop).ConfigureAwait(false);
        }
        catch (Exception e) when (!stop.IsCancellationRequested && e is not UnauthenticatedSyncException and not FencedSyncException and not AccountMismatchException)
        {
            var inFlight = session.InFlight.Select(b => b.Id).ToArray();
            if (e is RpcException rpc)
            {
                var detail = ReadErrorDetail(rpc);
                switch (rpc.StatusCode)
                {
                    case StatusCode.Unauthenticated:
                        throw new UnauthenticatedSyncException(session.Token, rpc);
                    case StatusCode.FailedPrecondition when detail?.Reason == ErrorReason.EpochFenced:
                        throw new FencedSyncException(
                            $"Device {DeviceId} has a newer epoch ({detail.CurrentEpoch}) on the server: this installation is stale and stops syncing.", rpc);
                    case StatusCode.FailedPrecondition when detail?.Reason == ErrorReason.SequenceGap:
                        // Renumber from the server's high-water mark; the next Welcome confirms it.
                        if (await _store.RenumberAsync(detail.HighWaterMark, CancellationToken.None).ConfigureAwait(false) > 0)
                        {
                            Emit(new SyncEvent { Kind = SyncEventKind.Renumbered, Message = $"sequence gap: renumbered from {detail.HighWaterMark + 1}" });
                        }

                        break;
                    case StatusCode.ResourceExhausted when detail?.Reason == ErrorReason.TooManyInFlight:
                        _inFlightCap = Math.Max(1, session.Cap / 2);
                        break;
                    case StatusCode.ResourceExhausted when detail?.Reason == ErrorReason.BatchTooLarge && session.Welcomed && session.InFlight.TryPeek(out var head):
                        // The server refused the oldest unacknowledged batch itself as too large (beyond its Welcome limits).
                        await QuarantineAsync(head, $"{rpc.StatusCode}: {rpc.Status.Detail}").ConfigureAwait(false);
                        session.Acked++;
                        break;
                    case var code when IsNonTransient(code) && session.Welcomed && session.InFlight.TryPeek(out var head):
                        // Acks come in batch_seq order, so the oldest unacknowledged batch is the one the server failed on.
                        // Retried a bounded number of times (one batch at a time, so the next failure is attributed
                        // exactly), then quarantined with the error: it must not block the queue forever.
                        _probeOneAtATime = true;
                        var failures = await _store.RecordNonTransientFailureAsync(head.Id, $"{rpc.StatusCode}: {rpc.Status.Detail}", CancellationToken.None).ConfigureAwait(false);
                        if (failures >= _options.MaxNonTransientAttempts)
                        {
                            await QuarantineAsync(head, $"{rpc.StatusCode} {failures} times, last: {rpc.Status.Detail}").ConfigureAwait(false);
                            session.Acked++;
                        }

                        break;
                }
            }

            if (e is not RpcException { StatusCode: not (StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled) })
            {
                // Transport failure or a dead stream: the next session must not reuse the (maybe half-open) connection.
                ResetChannel();
            }

            Interlocked.Exchange(ref _lastFailedIds, inFlight);
            _lastError = e.Message;
            if (session.Acked > 0)
            {
                // The stream made progress before failing: reconnect at once (the backoff restarts from its base).
                await _store.RecordAttemptFailureAsync(inFlight, e.Message, _options.TimeProvider.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
                return;
            }

            throw new TransientSyncException(e.Message, e);
        }
    }

    /// <summary>
    /// Statuses that a resend of the same batch will likely meet again (a bug, a malformed batch, a server that cannot
    /// handle it): bounded by <see cref="HealthSyncOptions.MaxNonTransientAttempts"/>. The others (UNAVAILABLE,
    /// RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, CANCELLED) and transport failures back off without bound.
    /// </summary>
    private static bool IsNonTransient(StatusCode code) => code is StatusCode.Internal or StatusCode.Unknown or StatusCode.InvalidArgument
        or StatusCode.DataLoss or StatusCode.Unimplemented or StatusCode.OutOfRange or StatusCode.FailedPrecondition
        or StatusCode.PermissionDenied or StatusCode.NotFound or StatusCode.AlreadyExists;

    private sealed class TransientSyncException(string message, Exception? inner) : Exception(message, inner);

    private sealed class UnauthenticatedSyncException(string? token, Exception? inner) : Exception("UNAUTHENTICATED", inner)
    {
        public string? Token { get; } = token;
    }

    private sealed class FencedSyncException(string message, Exception? inner) : Exception(message, inner);
}
