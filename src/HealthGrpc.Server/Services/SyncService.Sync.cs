using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using HealthGrpc.Contracts.V1;
using Grpc.Core;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Ingest;

namespace HealthGrpc.Server.Services;

internal sealed partial class SyncService
{
    /// <summary>
    /// Hello, Welcome, then batches in and acks out, in batch_seq order. Batches are validated as they arrive and
    /// committed concurrently (so group commit coalesces a stream's pipelined batches); an ack is written only when
    /// its batch's commit is durable. Every batch accepted before a failure or shutdown is still acked if possible.
    /// </summary>
    public override async Task Sync(IAsyncStreamReader<SyncRequest> requestStream, IServerStreamWriter<SyncResponse> responseStream, ServerCallContext context)
    {
        var userId = context.UserId();
        var incoming = requestStream.ReadAllAsync(context.CancellationToken).GetAsyncEnumerator(context.CancellationToken);
        try
        {
            await SyncAsync(userId, incoming, responseStream, context);
        }
        finally
        {
            await DisposeAbandonedAsync(incoming);
        }
    }

    private async Task SyncAsync(string userId, IAsyncEnumerator<SyncRequest> incoming, IServerStreamWriter<SyncResponse> responses, ServerCallContext context)
    {
        var device = await ReadHelloAsync(incoming);
        var welcome = await pipeline.WelcomeAsync(userId, device, context.CancellationToken);
        await responses.WriteAsync(new SyncResponse { Welcome = AckWire.ToWelcome(welcome, pipeline.Limits) }, context.CancellationToken);

        var inFlight = new InFlightAcks(pipeline.Limits.MaxBatchesInFlight);
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        // Acks are written until the client goes away, not until shutdown starts: a graceful stop acks what it accepted.
        var acker = WriteAcksInOrderAsync(inFlight, responses, stopReading, context.CancellationToken);
        Exception? readFailure = null;
        try
        {
            await ReadBatchesAsync(incoming, userId, device, inFlight, context, stopReading.Token);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Whatever ended reading (a refusal, a malformed message, a fault), the acks already computed still go out.
            readFailure = error;
        }
        finally
        {
            inFlight.Complete();
        }

        // Acks of batches accepted before a refusal still go out: the client then knows exactly what committed.
        await acker;
        if (readFailure is not null)
        {
            ExceptionDispatchInfo.Throw(readFailure);
        }

        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "server is shutting down; every batch sent before this was acked. Reconnect with backoff."));
        }
    }

    /// <summary>
    /// Reading stops early on shutdown or a failed ack, leaving a read pending; disposing the enumerator then fails,
    /// and that failure must not replace the status the call ends with. The call's own teardown ends the read.
    /// </summary>
    private static async ValueTask DisposeAbandonedAsync(IAsyncEnumerator<SyncRequest> incoming)
    {
        try
        {
            await incoming.DisposeAsync();
        }
        catch (Exception error) when (error is InvalidOperationException or NotSupportedException or OperationCanceledException)
        {
        }
    }

    private static async Task<DeviceIdentity> ReadHelloAsync(IAsyncEnumerator<SyncRequest> incoming)
    {
        if (!await incoming.MoveNextAsync())
        {
            throw new SyncRejectedException(ErrorReason.ProtocolViolation, "the Sync stream ended before its Hello.");
        }

        if (incoming.Current.KindCase != SyncRequest.KindOneofCase.Hello)
        {
            throw new SyncRejectedException(ErrorReason.ProtocolViolation, "the first message of a Sync stream must be a Hello.");
        }

        IngestPipeline.CheckDevice(incoming.Current.Hello.Device);
        return incoming.Current.Hello.Device;
    }

    private async Task ReadBatchesAsync(
        IAsyncEnumerator<SyncRequest> incoming, string userId, DeviceIdentity device, InFlightAcks inFlight, ServerCallContext context, CancellationToken stop)
    {
        var stopped = Task.Delay(Timeout.Infinite, stop).ContinueWith(static _ => false, TaskScheduler.Default);
        // A client that goes away while its stream waits for the budget leaves the queue at once.
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stop, context.CancellationToken);
        while (true)
        {
            // Wait until the client starts sending its next batch, then for its share of the server-wide budget, before
            // reading it: a quiet stream holds no budget, and while the budget is spent the batch stays unread in the
            // bounded flow-control window (the client is pushed back) instead of as parsed objects on the heap.
            long reserved;
            try
            {
                if (await RequestMessagePeek.NextMessageSizeAsync(context, stop) is not { } wireBytes)
                {
                    return; // the client completed its side
                }

                if (wireBytes > pipeline.Limits.MaxMessageBytes)
                {
                    // Refused from its length prefix: no budget is reserved and none of its bytes are read.
                    throw new SyncRejectedException(ErrorReason.BatchTooLarge,
                        $"a Sync message of {wireBytes} bytes is larger than max_message_bytes ({pipeline.Limits.MaxMessageBytes}) from the Welcome: split the batch.");
                }

                // Nothing to reserve for a truncated prefix (0): reading reports it.
                reserved = wireBytes > 0 ? await pipeline.ReserveAsync(wireBytes, waiting.Token) : 0;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            var next = incoming.MoveNextAsync().AsTask();
            if (!next.IsCompleted && await Task.WhenAny(next, Task.Delay(pipeline.Limits.StalledSenderRelease, stop)) != next)
            {
                // The rest of the batch is slow to come: a stalled sender must not keep busy streams waiting.
                pipeline.Unreserve(reserved);
                reserved = 0;
            }

            Batch batch;
            try
            {
                // Shutdown or a failed ack stops reading; the pending read is abandoned with the call.
                if (await Task.WhenAny(next, stopped) == stopped || !await ReadOrStopAsync(next))
                {
                    pipeline.Unreserve(reserved);
                    return;
                }

                batch = TakeBatch(incoming.Current);
                await EnsureCredentialStillValidAsync(context);
                inFlight.Reserve(batch.BatchSeq);
            }
            catch
            {
                pipeline.Unreserve(reserved);
                throw;
            }

            Task<BatchOutcome> ack;
            try
            {
                ack = await pipeline.AdmitAsync(userId, device, batch, batch.CalculateSize(), reserved, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            inFlight.Add(ack);
        }
    }

    /// <summary>
    /// Takes the batch out of its request: the request enumerator keeps its current message until the next one arrives,
    /// which may be hours away, and a parsed batch (several times its wire size) must not live that long.
    /// </summary>
    private static Batch TakeBatch(SyncRequest request)
    {
        if (request.KindCase != SyncRequest.KindOneofCase.Batch)
        {
            throw new SyncRejectedException(ErrorReason.ProtocolViolation, "only Batch messages may follow the Hello.");
        }

        var batch = request.Batch;
        request.ClearKind();
        return batch;
    }

    /// <summary>The request stream is cancelled by shutdown too; that ends reading, it does not fail the call.</summary>
    private async Task<bool> ReadOrStopAsync(Task<bool> next)
    {
        try
        {
            return await next;
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task WriteAcksInOrderAsync(
        InFlightAcks inFlight, IServerStreamWriter<SyncResponse> responses, CancellationTokenSource stopReading, CancellationToken ct)
    {
        try
        {
            await foreach (var pending in inFlight.ReadAllAsync())
            {
                var ack = AckWire.ToAck(await pending);
                await responses.WriteAsync(new SyncResponse { Ack = ack }, ct);
                inFlight.Release();
            }
        }
        catch
        {
            await stopReading.CancelAsync();
            throw;
        }
    }

    /// <summary>Pending acks in arrival order, bounded by the Welcome's max_batches_in_flight.</summary>
    private sealed class InFlightAcks(int limit)
    {
        private readonly Channel<Task<BatchOutcome>> _pending = Channel.CreateUnbounded<Task<BatchOutcome>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private int _count;

        public void Reserve(ulong batchSeq)
        {
            if (Interlocked.Increment(ref _count) > limit)
            {
                throw new SyncRejectedException(ErrorReason.TooManyInFlight,
                    $"batch {batchSeq} exceeds max_batches_in_flight ({limit}): wait for acks before sending more.");
            }
        }

        public void Add(Task<BatchOutcome> ack) => _pending.Writer.TryWrite(ack);

        public void Release() => Interlocked.Decrement(ref _count);

        public void Complete() => _pending.Writer.TryComplete();

        public IAsyncEnumerable<Task<BatchOutcome>> ReadAllAsync() => _pending.Reader.ReadAllAsync();
    }
}
