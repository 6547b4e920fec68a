using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using HealthGrpc.Contracts.V1;
using Grpc.Core;

namespace HealthGrpc.Client;

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

    private async Task RunSessionAsync(SessionState session, CancellationToken stop)
    {
        var device = await EnsureRestoredAsync(stop).ConfigureAwait(false);
        session.Token = await GetTokenAsync(false, stop).ConfigureAwait(false);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var call = _connection.Client.Sync(new CallOptions(AuthHeaders(session.Token), null, cts.Token));
        IAsyncEnumerator<SyncResponse>? responses = null;
        Task? sender = null, receiver = null, watchdog = null;
        try
        {
            await call.RequestStream.WriteAsync(
                new SyncRequest { Hello = new Hello { Device = new DeviceIdentity { DeviceId = device.DeviceId, Epoch = device.Epoch }, SdkVersion = _options.SdkVersion } },
                cts.Token).ConfigureAwait(false);
            responses = call.ResponseStream.ReadAllAsync(cts.Token).GetAsyncEnumerator(cts.Token);
            bool gotWelcome;
            try
            {
                gotWelcome = await responses.MoveNextAsync().AsTask().WaitAsync(_options.AckTimeout, stop).ConfigureAwait(false);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"No Welcome within {_options.AckTimeout.TotalSeconds:0.#} s.", e);
            }

            if (!gotWelcome || responses.Current.KindCase != SyncResponse.KindOneofCase.Welcome)
            {
                throw new InvalidDataException("The Sync stream did not start with a Welcome.");
            }

            var welcome = responses.Current.Welcome;
            session.Welcomed = true;
            var serverCap = welcome.Limits?.MaxBatchesInFlight is > 0 ? (int)welcome.Limits.MaxBatchesInFlight : int.MaxValue;
            session.Cap = _probeOneAtATime ? 1 : Math.Max(1, Math.Min(Math.Min(_options.MaxBatchesInFlight, serverCap), _inFlightCap));
            session.MaxSamples = welcome.Limits?.MaxSamplesPerBatch is > 0 and <= int.MaxValue ? (int)welcome.Limits.MaxSamplesPerBatch : int.MaxValue;
            session.MaxBytes = welcome.Limits?.MaxMessageBytes is > 0 and <= int.MaxValue ? (int)welcome.Limits.MaxMessageBytes : int.MaxValue;
            var renumbered = await _store.RenumberAsync(welcome.HighWaterMark, stop).ConfigureAwait(false);
            if (renumbered > 0)
            {
                Emit(new SyncEvent { Kind = SyncEventKind.Renumbered, Message = $"{renumbered} batches renumbered after high-water mark {welcome.HighWaterMark}" });
            }

            var resend = new Queue<OutgoingBatch>(await _store.GetInFlightAsync(stop).ConfigureAwait(false));
            _state = SyncState.Syncing;
            _lastError = null;
            Emit(new SyncEvent { Kind = SyncEventKind.Connected, BatchSeq = welcome.HighWaterMark, Message = $"epoch {device.Epoch}, high-water mark {welcome.HighWaterMark}, {resend.Count} to resend" });

            using var slots = new SemaphoreSlim(session.Cap, session.Cap);
            sender = SendLoopAsync(call.RequestStream, resend, session, slots, cts.Token);
            receiver = ReceiveLoopAsync(responses, session, slots, cts.Token);
            watchdog = WatchdogAsync(session, cts.Token);
            var first = await Task.WhenAny(sender, receiver, watchdog).ConfigureAwait(false);
            if (first == sender)
            {
                // Either idle (the request stream is complete, nothing in flight: let the server end the call), or a write
                // failed because the server had ended the call (grpc-dotnet: "the call is complete", or a stream reset).
                // Then the server's status, and the acks it sent before it, are still on the response stream: a failed
                // receiver's exception wins, so a refusal is classified by what the server answered, not by the write
                // (which made a non-transient refusal look transient, and its retries unbounded).
                // On the session token: its timer goes with the session (cancelled in finally) when the receiver ends first.
                var ended = await Task.WhenAny(receiver, watchdog, Task.Delay(_options.AckTimeout, cts.Token)).ConfigureAwait(false);
                if (ended == receiver && (receiver.IsFaulted || !sender.IsFaulted))
                {
                    await receiver.ConfigureAwait(false);
                }

                await sender.ConfigureAwait(false); // throws its failure
                return;
            }

            if (first == receiver)
            {
                await receiver.ConfigureAwait(false);
                throw new IOException("The server ended the Sync stream.");
            }

            throw new TimeoutException($"No ack within {_options.AckTimeout.TotalSeconds:0.#} s with {session.InFlight.Count} batches in flight: the stream is considered dead.");
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            call.Dispose();
            foreach (var task in new[] { sender, receiver, watchdog })
            {
                if (task is not null)
                {
                    try
                    {
                        // A write stuck on HTTP/2 flow control of a dead connection may not observe cancellation at once.
                        await task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                    }
#pragma warning disable CA1031 // Secondary failures of a torn-down session.
                    catch (Exception)
                    {
                    }
#pragma warning restore CA1031
                }
            }

            if (responses is not null && receiver is not { IsCompleted: false })
            {
                try
                {
                    await responses.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031
                catch (Exception)
                {
                }
#pragma warning restore CA1031
            }
        }
    }

    private async Task SendLoopAsync(IClientStreamWriter<SyncRequest> requests, Queue<OutgoingBatch> resend, SessionState session, SemaphoreSlim slots, CancellationToken ct)
    {
        var idleSince = _options.TimeProvider.GetTimestamp();
        while (true)
        {
            await slots.WaitAsync(ct).ConfigureAwait(false);
            var next = resend.Count > 0 ? resend.Dequeue() : await DispatchNextAsync(resend, session, ct).ConfigureAwait(false);
            if (next is null)
            {
                slots.Release();
                if (session.InFlight.IsEmpty)
                {
                    var remaining = _options.IdleTimeout - _options.TimeProvider.GetElapsedTime(idleSince);
                    if (remaining <= TimeSpan.Zero || !await _work.WaitAsync(remaining, ct).ConfigureAwait(false))
                    {
                        if (session.InFlight.IsEmpty && (await _store.GetCountsAsync(ct).ConfigureAwait(false)).PendingBatches == 0)
                        {
                            await requests.CompleteAsync().ConfigureAwait(false);
                            return;
                        }
                    }
                }
                else
                {
                    await _work.WaitAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                    idleSince = _options.TimeProvider.GetTimestamp();
                }

                continue;
            }

            idleSince = _options.TimeProvider.GetTimestamp();
            var batch = Batch.Parser.ParseFrom(next.Payload);
            batch.BatchSeq = next.Seq;
            if (session.InFlight.IsEmpty)
            {
                session.Touch();
            }

            session.InFlight.Enqueue(next);
            await requests.WriteAsync(new SyncRequest { Batch = batch }, ct).ConfigureAwait(false);
            Emit(new SyncEvent { Kind = SyncEventKind.Sent, BatchId = next.Id, BatchSeq = next.Seq, Tier = next.Tier, SampleCount = next.SampleCount });
        }
    }

    /// <summary>
    /// The next batch to send: assigns the next pending batch its batch_seq, split to the Welcome's limits (the further
    /// parts join <paramref name="assigned"/>, in batch_seq order). Reports what was quarantined as too large. Null when
    /// nothing is pending.
    /// </summary>
    private async Task<OutgoingBatch?> DispatchNextAsync(Queue<OutgoingBatch> assigned, SessionState session, CancellationToken ct)
    {
        while (true)
        {
            // WaitUntilDrainedAsync waits for this too: a quarantine's Failed event is raised before "drained".
            Interlocked.Increment(ref _processingAcks);
            DispatchResult? dispatch;
            try
            {
                dispatch = await _store.AssignNextAsync(session.MaxSamples, session.MaxBytes, ct).ConfigureAwait(false);
                foreach (var q in dispatch?.Quarantined ?? [])
                {
                    Emit(new SyncEvent { Kind = SyncEventKind.Quarantined, BatchId = q.Id, Tier = q.Tier, SampleCount = q.Items, Message = q.Reason });
                    if (_waiters.TryGetValue(q.Id, out var waiter))
                    {
                        waiter.TrySetResult(null);
                    }
                }

                RaiseCommittedAnchors(null, null, dispatch?.CommittedAnchors ?? []);
            }
            finally
            {
                Interlocked.Decrement(ref _processingAcks);
                PulseProgress();
            }

            if (dispatch is null)
            {
                return null;
            }

            if (dispatch.Batches.Count == 0)
            {
                continue;
            }

            for (var i = 1; i < dispatch.Batches.Count; i++)
            {
                assigned.Enqueue(dispatch.Batches[i]);
            }

            return dispatch.Batches[0];
        }
    }

    private async Task ReceiveLoopAsync(IAsyncEnumerator<SyncResponse> responses, SessionState session, SemaphoreSlim slots, CancellationToken ct)
    {
        while (await responses.MoveNextAsync().ConfigureAwait(false))
        {
            var response = responses.Current;
            if (response.KindCase != SyncResponse.KindOneofCase.Ack)
            {
                throw new InvalidDataException($"Expected an Ack, got {response.KindCase}.");
            }

            var ack = response.Ack;
            if (!session.InFlight.TryPeek(out var batch) || batch.Seq != ack.BatchSeq)
            {
                throw new InvalidDataException($"Ack for batch_seq {ack.BatchSeq} does not match the oldest batch in flight ({batch?.Seq.ToString(CultureInfo.InvariantCulture) ?? "none"}).");
            }

            // Not cancellable: the ack's local transaction (remove batch, commit anchors) runs to completion.
            await HandleAckAsync(batch, ack).ConfigureAwait(false);
            _probeOneAtATime = false; // the next session pipelines again
            session.InFlight.TryDequeue(out _);
            session.Acked++;
            session.Touch();
            slots.Release();
            _work.Set();
            ct.ThrowIfCancellationRequested();
        }
    }

    private async Task WatchdogAsync(SessionState session, CancellationToken ct)
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_options.AckTimeout.TotalMilliseconds / 4, 50, 1000));
        while (true)
        {
            await Task.Delay(period, _options.TimeProvider, ct).ConfigureAwait(false);
            if (!session.InFlight.IsEmpty && session.SinceProgress > _options.AckTimeout)
            {
                return;
            }
        }
    }

    private async Task HandleAckAsync(OutgoingBatch batch, Ack ack)
    {
        // WaitUntilDrainedAsync waits for this too: "drained" means every ack's events were raised.
        Interlocked.Increment(ref _processingAcks);
        try
        {
            await HandleAckCoreAsync(batch, ack).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _processingAcks);
            PulseProgress();
        }
    }

    private async Task HandleAckCoreAsync(OutgoingBatch batch, Ack ack)
    {
        if (batch.Atomic && ack.Rejected > 0)
        {
            // Rejected as a whole (or the replay of that rejection, flagged duplicate): nothing was stored. The rejected
            // items are quarantined and the rest is requeued with the anchors, to be sent once more under a new batch_seq.
            var requeued = await _store.RequeueRestAsync(batch.Id, ack.Rejections, DescribeRejections(ack), CancellationToken.None).ConfigureAwait(false);
            RaiseResolution(batch, ack, requeued);
            if (requeued.RequeuedItems > 0)
            {
                Emit(new SyncEvent { Kind = SyncEventKind.Requeued, BatchId = batch.Id, BatchSeq = batch.Seq, Tier = batch.Tier, SampleCount = requeued.RequeuedItems, Ack = ack, Message = DescribeRejections(ack) });
            }

            if (requeued.RequeuedItems > 0)
            {
                PulseProgress(); // the rest is pending again: its waiter (if any) is answered by the rest's ack
            }
            else
            {
                CompleteWaiter(batch.Id, ack);
            }

            return;
        }

        var resolution = await _store.CompleteAsync(batch.Id, ack.Rejections, CancellationToken.None).ConfigureAwait(false);
        Emit(new SyncEvent
        {
            Kind = SyncEventKind.Acked,
            BatchId = batch.Id,
            BatchSeq = batch.Seq,
            Tier = batch.Tier,
            SampleCount = batch.SampleCount,
            Ack = ack,
            Message = ack.Rejected > 0 ? DescribeRejections(ack) : null,
        });
        RaiseResolution(batch, ack, resolution);
        CompleteWaiter(batch.Id, ack);
    }

    /// <summary>Quarantines a whole batch (non-transient failures exhausted, or refused as too large by the server).</summary>
    private async Task QuarantineAsync(OutgoingBatch batch, string reason)
    {
        var resolution = await _store.QuarantineAsync(batch.Id, reason, CancellationToken.None).ConfigureAwait(false);
        RaiseResolution(batch, null, resolution);
        CompleteWaiter(batch.Id, null);
    }

    private void RaiseResolution(OutgoingBatch batch, Ack? ack, Resolution resolution)
    {
        foreach (var q in resolution.Quarantined)
        {
            Emit(new SyncEvent { Kind = SyncEventKind.Quarantined, BatchId = q.Id, BatchSeq = batch.Seq, Tier = q.Tier, SampleCount = q.Items, Ack = ack, Message = q.Reason });
        }

        RaiseCommittedAnchors(batch.Id, batch.Seq, resolution.CommittedAnchors);
        if (resolution.Purged > 0)
        {
            Emit(new SyncEvent { Kind = SyncEventKind.QuarantinePurged, SampleCount = resolution.Purged, Message = $"{resolution.Purged} quarantined batches past the retention policy were deleted" });
        }
    }

    private void RaiseCommittedAnchors(long? batchId, ulong? seq, IReadOnlyList<SourceAnchor> anchors)
    {
        foreach (var anchor in anchors)
        {
            Emit(new SyncEvent { Kind = SyncEventKind.AnchorCommitted, BatchId = batchId, BatchSeq = seq, Anchor = anchor });
        }
    }

    private void CompleteWaiter(long batchId, Ack? ack)
    {
        if (_waiters.TryGetValue(batchId, out var waiter))
        {
            waiter.TrySetResult(ack);
        }

        PulseProgress();
    }

    private static string DescribeRejections(Ack ack)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{ack.Outcome}: {ack.Rejected} rejected");
        foreach (var r in ack.Rejections.Take(5))
        {
            sb.Append(CultureInfo.InvariantCulture, $"; {r.Kind} #{r.Index}: {r.Reason} {r.Message}");
        }

        return sb.ToString();
    }

    private sealed class SessionState(TimeProvider clock)
    {
        private long _lastProgress = clock.GetTimestamp();

        public ConcurrentQueue<OutgoingBatch> InFlight { get; } = new();

        public string? Token { get; set; }

        public bool Welcomed { get; set; }

        public int Cap { get; set; } = 1;

        /// <summary>The Welcome's max_samples_per_batch (int.MaxValue when unset).</summary>
        public int MaxSamples { get; set; } = int.MaxValue;

        /// <summary>The Welcome's max_message_bytes (int.MaxValue when unset).</summary>
        public int MaxBytes { get; set; } = int.MaxValue;

        public int Acked { get; set; }

        public TimeSpan SinceProgress => clock.GetElapsedTime(Interlocked.Read(ref _lastProgress));

        public void Touch() => Interlocked.Exchange(ref _lastProgress, clock.GetTimestamp());
    }
}
