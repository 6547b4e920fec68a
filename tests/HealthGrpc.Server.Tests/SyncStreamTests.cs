using HealthGrpc.Contracts.V1;
using Grpc.Core;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>The bidirectional Sync stream: handshake, pipelined batches, ordered acks, refusals, concurrency.</summary>
public sealed class SyncStreamTests : ServerTest
{
    [Fact]
    public async Task Welcome_then_pipelined_batches_are_acked_in_order()
    {
        var (stream, welcome) = await SyncStream.OpenAsync(Server.Client, Token, Device());
        using var _ = stream;
        Assert.Equal(0u, welcome.HighWaterMark);
        Assert.Equal(10_000u, welcome.Limits.MaxSamplesPerBatch);

        for (ulong seq = 1; seq <= 10; seq++)
        {
            await stream.SendAsync(HeartRate(seq, NewUuids(100)));
        }

        for (ulong seq = 1; seq <= 10; seq++)
        {
            var ack = await stream.ReadAckAsync();
            Assert.Equal(seq, ack.BatchSeq);
            Assert.Equal(100u, ack.Accepted);
            Assert.Equal($"anchor-{seq}", Assert.Single(ack.CommittedAnchors).Anchor.ToStringUtf8());
        }

        await stream.CompleteAsync();
        Assert.Null(await stream.ReadAsync());
        Assert.Equal(1000, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task After_a_reconnect_the_welcome_carries_the_high_water_mark_and_replays_are_duplicates()
    {
        var replayed = HeartRate(2, NewUuids(5));
        var (first, _) = await SyncStream.OpenAsync(Server.Client, Token, Device());
        using (first)
        {
            await first.SendAsync(HeartRate(1, NewUuids(5)));
            await first.SendAsync(replayed);
            await first.ReadAckAsync();
            await first.ReadAckAsync();
        }

        var (second, welcome) = await SyncStream.OpenAsync(Server.Client, Token, Device());
        using var _ = second;
        await second.SendAsync(replayed);
        var ack = await second.ReadAckAsync();

        Assert.Equal(2u, welcome.HighWaterMark);
        Assert.Equal(AckOutcome.Duplicate, ack.Outcome);
        Assert.Equal(5u, ack.Accepted);
        Assert.Equal(10, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task A_stream_that_does_not_start_with_hello_is_invalid()
    {
        using var call = Server.Client.Sync(SyncApi.As(Token));
        await call.RequestStream.WriteAsync(new SyncRequest { Batch = HeartRate(1, NewUuids(1)) }).Bounded();
        await call.RequestStream.CompleteAsync().Bounded();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        }).Bounded();

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(ErrorReason.ProtocolViolation, SyncApi.Detail(error).Reason);
    }

    [Fact]
    public async Task A_gap_on_a_stream_acks_what_came_before_then_fails_with_the_high_water_mark()
    {
        var (stream, _) = await SyncStream.OpenAsync(Server.Client, Token, Device());
        using var _ = stream;
        await stream.SendAsync(HeartRate(1, NewUuids(3)));
        await stream.SendAsync(HeartRate(5, NewUuids(3)));

        var ack = await stream.ReadAckAsync();
        var error = await Assert.ThrowsAsync<RpcException>(stream.ReadAsync);

        Assert.Equal(1u, ack.BatchSeq);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        var detail = SyncApi.Detail(error);
        Assert.Equal(ErrorReason.SequenceGap, detail.Reason);
        Assert.Equal(1u, detail.HighWaterMark);
    }

    [Fact]
    public async Task An_oversized_message_on_a_stream_is_resource_exhausted_and_what_was_acked_stays()
    {
        var (stream, _) = await SyncStream.OpenAsync(Server.Client, Token, Device());
        using var _ = stream;
        await stream.SendAsync(HeartRate(1, NewUuids(3)));
        Assert.Equal(1u, (await stream.ReadAckAsync()).BatchSeq);
        var oversized = HeartRate(2, NewUuids(1));
        oversized.Records.Add(new Contracts.V1.Record { RecordType = "com.example/blob", RecordId = "big", Version = 1, Payload = Google.Protobuf.ByteString.CopyFrom(new byte[5 * 1024 * 1024]) });

        // The server refuses it from its length prefix, without waiting for budget or bytes; the client's write of the
        // rest may fail with the call.
        var send = stream.SendAsync(oversized);
        var error = await Assert.ThrowsAsync<RpcException>(stream.ReadAsync);
        await Xunit.Record.ExceptionAsync(() => send);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("larger than max_message_bytes", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(ErrorReason.BatchTooLarge, SyncApi.Detail(error).Reason);
        Assert.Equal(3, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task A_fenced_epoch_is_refused_at_hello()
    {
        await Server.Client.UploadAsync(Upload(HeartRate(1, NewUuids(1)), Device(epoch: 3)), SyncApi.As(Token)).Bounded();

        var error = await Assert.ThrowsAsync<RpcException>(() => SyncStream.OpenAsync(Server.Client, Token, Device(epoch: 2)));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal(ErrorReason.EpochFenced, SyncApi.Detail(error).Reason);
    }

    [Fact]
    public async Task Fifty_concurrent_device_streams_all_commit_exactly_once()
    {
        const int devices = 50, batches = 8, perBatch = 250;

        async Task RunDevice(int d)
        {
            var (stream, _) = await SyncStream.OpenAsync(Server.Client, Token, Device($"device-{d}"));
            using var _ = stream;
            var uuids = NewUuids(batches * perBatch);
            var acks = Task.Run(async () =>
            {
                for (var i = 0; i < batches; i++)
                {
                    var ack = await stream.ReadAckAsync();
                    Assert.Equal((uint)perBatch, ack.Accepted + ack.Duplicates);
                }
            });
            for (var b = 0; b < batches; b++)
            {
                // Every device re-sends its first batch's samples once more: stored once all the same.
                var slice = b == batches - 1 ? uuids[..perBatch] : uuids[(b * perBatch)..((b + 1) * perBatch)];
                await stream.SendAsync(HeartRate((ulong)b + 1, slice));
            }

            await acks.Bounded();
            await stream.CompleteAsync();
        }

        await Task.WhenAll(Enumerable.Range(0, devices).Select(d => Task.Run(() => RunDevice(d)))).Bounded();

        Assert.Equal(devices * (batches - 1) * perBatch, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }
}
