using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>One Sync stream: Hello/Welcome, the send loop (dispatching batch_seqs under the in-flight cap), the ack loop and the watchdog.</summary>
public sealed partial class HealthSyncClient
{
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
