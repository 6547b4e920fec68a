using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Simulate;

/// <summary>
/// One simulated watch on a raw Sync stream: heart-rate readings at a fixed rate, one batch per tick, pipelined up to the
/// Welcome's limit of batches in flight. Batches stay in memory until acked; after a failed stream the device reconnects and
/// re-sends them under new batch_seqs (their sample uuids make the re-send a duplicate, never a second sample).
/// </summary>
internal sealed class SimulatedDevice(SyncService.SyncServiceClient client, string token, string deviceId, double rateHz, FleetStats stats)
{
    private readonly Queue<(Batch Batch, long SentAt)> _unacked = new();
    private readonly Lock _lock = new();
    private readonly Source _source = new() { Kind = DeviceKind.Watch, Name = deviceId, Manufacturer = "HealthGrpc", Model = "simulate", AppId = "dev.healthgrpc.simulate" };
    private double _carry;
    private long _readings;

    /// <summary>Time between two batches: one per reading up to 10 Hz, else 10 batches a second.</summary>
    private TimeSpan Interval => TimeSpan.FromSeconds(Math.Max(1.0 / rateHz, 0.1));

    /// <summary>Sends until <paramref name="stop"/>, then waits (at most <paramref name="drain"/>) for the acks of what it sent.</summary>
    public async Task RunAsync(TimeSpan drain, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await StreamAsync(drain, stop).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidDataException)
            {
                stats.Failed();
                if (stop.IsCancellationRequested)
                {
                    return; // failed while draining: what was not acked is not counted as acked
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task StreamAsync(TimeSpan drain, CancellationToken stop)
    {
        using var abort = new CancellationTokenSource();
        using var call = client.Sync(new Metadata { { "authorization", "Bearer " + token } }, cancellationToken: abort.Token);
        await call.RequestStream.WriteAsync(new SyncRequest { Hello = new Hello { Device = new DeviceIdentity { DeviceId = deviceId, Epoch = 1 }, SdkVersion = "healthgrpc-simulate/1.0" } }, stop).ConfigureAwait(false);
        if (!await call.ResponseStream.MoveNext(stop).ConfigureAwait(false) || call.ResponseStream.Current.KindCase != SyncResponse.KindOneofCase.Welcome)
        {
            throw new InvalidDataException("the Sync stream did not start with a Welcome");
        }

        var welcome = call.ResponseStream.Current.Welcome;
        var maxInFlight = (int)Math.Max(1, welcome.Limits?.MaxBatchesInFlight ?? 1);
        var seq = welcome.HighWaterMark;
        stats.DeviceConnected();
        try
        {
            var receiver = ReceiveAsync(call.ResponseStream, abort.Token);
            List<Batch> resend;
            lock (_lock)
            {
                resend = [.. _unacked.Select(u => u.Batch)];
                _unacked.Clear();
            }

            foreach (var batch in resend)
            {
                batch.BatchSeq = ++seq;
                await SendAsync(call.RequestStream, batch).ConfigureAwait(false);
            }

            using var ticks = new PeriodicTimer(Interval);
            try
            {
                while (await ticks.WaitForNextTickAsync(stop).ConfigureAwait(false))
                {
                    if (receiver.IsCompleted)
                    {
                        await receiver.ConfigureAwait(false);
                        throw new IOException("the server ended the Sync stream");
                    }

                    int inFlight;
                    lock (_lock)
                    {
                        inFlight = _unacked.Count;
                    }

                    if (inFlight >= maxInFlight)
                    {
                        stats.SkippedTick();
                        continue;
                    }

                    var next = NextBatch();
                    if (next.SampleSets.Count > 0)
                    {
                        next.BatchSeq = ++seq;
                        await SendAsync(call.RequestStream, next).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The duration is over: stop sending, collect the outstanding acks below.
            }

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            if (await Task.WhenAny(receiver, Task.Delay(drain, CancellationToken.None)).ConfigureAwait(false) != receiver)
            {
                await abort.CancelAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            stats.DeviceDisconnected();
        }
    }

    /// <summary>
    /// Writes one batch, not cancellable by the duration: a write cut by it could still reach the server and be acked
    /// without being counted as sent, or break the stream and lose the acks of the batches before it. The tick loop is
    /// where the duration stops the device; a stream that fails is ended by the call itself.
    /// </summary>
    private async Task SendAsync(IClientStreamWriter<SyncRequest> requests, Batch batch)
    {
        lock (_lock)
        {
            _unacked.Enqueue((batch, Stopwatch.GetTimestamp()));
        }

        await requests.WriteAsync(new SyncRequest { Batch = batch }, CancellationToken.None).ConfigureAwait(false);
        stats.Sent(batch.SampleSets[0].Samples.Count);
    }

    private async Task ReceiveAsync(IAsyncStreamReader<SyncResponse> responses, CancellationToken ct)
    {
        while (await responses.MoveNext(ct).ConfigureAwait(false))
        {
            var ack = responses.Current.Ack ?? throw new InvalidDataException($"expected an Ack, got {responses.Current.KindCase}");
            long sentAt;
            lock (_lock)
            {
                if (!_unacked.TryDequeue(out var oldest) || oldest.Batch.BatchSeq != ack.BatchSeq)
                {
                    throw new InvalidDataException($"ack for batch_seq {ack.BatchSeq} does not match the oldest batch in flight");
                }

                sentAt = oldest.SentAt;
            }

            stats.Acked(ack.Accepted, ack.Duplicates, ack.Rejected, Stopwatch.GetElapsedTime(sentAt));
        }
    }

    /// <summary>The readings due this tick (rate × interval, the fraction carried over), ending now.</summary>
    private Batch NextBatch()
    {
        _carry += rateHz * Interval.TotalSeconds;
        var count = (int)_carry;
        _carry -= count;
        var now = DateTimeOffset.UtcNow;
        var batch = new Batch { Priority = Priority.Batch };
        if (count == 0)
        {
            return batch;
        }

        var set = new SampleSet { Type = DataType.HeartRate, Unit = "count/min", Source = _source, BaseTime = Timestamp.FromDateTimeOffset(now), ZoneOffsetMinutes = 0 };
        var spacingMs = 1000.0 / rateHz;
        for (var i = 0; i < count; i++)
        {
            var reading = _readings++;
            set.Samples.Add(new Sample
            {
                Uuid = SampleUuid.ToByteString(Guid.CreateVersion7()),
                StartOffsetMs = -(long)((count - 1 - i) * spacingMs),
                ScaledValue = 60 + (reading % 40),
            });
        }

        batch.SampleSets.Add(set);
        return batch;
    }
}
