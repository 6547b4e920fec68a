using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Contracts;
using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests.Faults;

/// <summary>
/// A device with a fixed list of batches (fresh sample uuids each), sending them the way the SDK does: over a Sync
/// stream from the server's high-water mark (Welcome), or one by one with Upload; on UNAVAILABLE it backs off and
/// resumes. It remembers every ack it got and every status it saw, so a test can check "acked means stored, once".
/// </summary>
internal sealed class TestDevice
{
    /// <summary>The UTC midnight whose day every sample of every device starts in (batch n at n minutes past it).</summary>
    public static readonly DateTimeOffset Origin = new(DateTime.UtcNow.Date.AddDays(-2), TimeSpan.Zero);

    private readonly Batch[] _batches;

    public TestDevice(string deviceId, int batches, int samplesPerBatch, ulong epoch = 1)
    {
        Identity = new DeviceIdentity { DeviceId = deviceId, Epoch = epoch };
        _batches = Enumerable.Range(1, batches).Select(seq => HeartRate(deviceId, (ulong)seq, samplesPerBatch)).ToArray();
    }

    public DeviceIdentity Identity { get; }

    public int BatchCount => _batches.Length;

    /// <summary>Acks by batch_seq (the first ack of each; a replay answered DUPLICATE is in <see cref="Duplicates"/>).</summary>
    public ConcurrentDictionary<ulong, Ack> Acks { get; } = new();

    /// <summary>Batches answered ACK_OUTCOME_DUPLICATE (committed earlier, their ack lost or replayed on purpose).</summary>
    public ConcurrentBag<ulong> Duplicates { get; } = [];

    /// <summary>Every failure status the device saw, in order.</summary>
    public ConcurrentQueue<RpcException> Failures { get; } = new();

    /// <summary>The uuids of every sample this device sends.</summary>
    public IEnumerable<Guid> SampleUuids => _batches.SelectMany(b => b.SampleSets).SelectMany(s => s.Samples).Select(s => SampleUuid.ToGuid(s.Uuid));

    /// <summary>The uuids of the samples of acked batches.</summary>
    public IEnumerable<Guid> AckedSampleUuids => _batches.Where(b => Acks.ContainsKey(b.BatchSeq))
        .SelectMany(b => b.SampleSets).SelectMany(s => s.Samples).Select(s => SampleUuid.ToGuid(s.Uuid));

    public Batch BatchAt(ulong seq) => _batches[seq - 1];

    /// <summary>Uploads batch <paramref name="seq"/> (unary) and records its ack.</summary>
    public Task<Ack> UploadAsync(SyncService.SyncServiceClient client, Metadata auth, ulong seq) => UploadAsync(client, auth, BatchAt(seq));

    /// <summary>Uploads a batch that is not one of the device's (e.g. one past a gap); records its ack.</summary>
    public async Task<Ack> UploadAsync(SyncService.SyncServiceClient client, Metadata auth, Batch batch)
    {
        var response = await client.UploadAsync(new UploadRequest { Device = Identity, Batch = batch }, auth, DateTime.UtcNow.AddSeconds(20))
            .ResponseAsync.WaitAsync(TestData.Timeout);
        Record(response.Ack);
        return response.Ack;
    }

    /// <summary>A new batch with <paramref name="seq"/> that is not in the device's list (its samples are not expected stored).</summary>
    public Batch Extra(ulong seq) => HeartRate(Identity.DeviceId, seq, 1);

    /// <summary>
    /// One Sync stream: Hello, then from the Welcome's high-water mark + 1 every batch up to <paramref name="upTo"/>
    /// (one in flight at a time), recording acks; <paramref name="afterAck"/> runs after each ack (a test's fault hook).
    /// </summary>
    public async Task SyncAsync(SyncService.SyncServiceClient client, Metadata auth, ulong upTo, Func<ulong, Task>? afterAck = null)
    {
        using var call = client.Sync(auth, DateTime.UtcNow.AddSeconds(60));
        await WriteAsync(call, new SyncRequest { Hello = new Hello { Device = Identity, SdkVersion = "pg-fault-tests/1.0" } });
        var welcome = await NextAsync(call);
        Assert.Equal(SyncResponse.KindOneofCase.Welcome, welcome.KindCase);
        for (var seq = welcome.Welcome.HighWaterMark + 1; seq <= upTo; seq++)
        {
            await WriteAsync(call, new SyncRequest { Batch = BatchAt(seq) });
            var response = await NextAsync(call);
            Assert.Equal(SyncResponse.KindOneofCase.Ack, response.KindCase);
            Assert.Equal(seq, response.Ack.BatchSeq);
            Record(response.Ack);
            if (afterAck is not null)
            {
                await afterAck(seq);
            }
        }

        await call.RequestStream.CompleteAsync().WaitAsync(TestData.Timeout);
        Assert.False(await call.ResponseStream.MoveNext().WaitAsync(TestData.Timeout), "the server sent more after the last ack");
    }

    /// <summary>
    /// Syncs every batch, resuming after UNAVAILABLE with exponential backoff (50 ms doubling to 1 s), picking the server
    /// per attempt (<paramref name="server"/>: attempt number → client). Any other status ends it (and fails the test).
    /// </summary>
    public async Task SyncAllWithRetriesAsync(Func<int, SyncService.SyncServiceClient> server, Metadata auth, Func<ulong, Task>? afterAck = null, int maxAttempts = 200)
    {
        var backoff = TimeSpan.FromMilliseconds(50);
        for (var attempt = 0; attempt < maxAttempts; attempt++)
        {
            try
            {
                await SyncAsync(server(attempt), auth, (ulong)_batches.Length, afterAck);
                return;
            }
            catch (RpcException error) when (error.StatusCode == StatusCode.Unavailable)
            {
                Failures.Enqueue(error);
                await Task.Delay(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
            catch (RpcException error)
            {
                Failures.Enqueue(error);
                throw;
            }
        }

        throw new Xunit.Sdk.XunitException($"{Identity.DeviceId} did not finish in {maxAttempts} attempts: {string.Join("; ", Failures.Select(f => f.Status))}");
    }

    private void Record(Ack ack)
    {
        if (ack.Outcome == AckOutcome.Duplicate)
        {
            Duplicates.Add(ack.BatchSeq);
        }

        Acks.TryAdd(ack.BatchSeq, ack);
    }

    /// <summary>
    /// Writes one message. A write into a stream the server already reset (it died, or ended the call) fails with the
    /// transport's IOException; the call's status, which is what a client acts on, comes from the response stream.
    /// </summary>
    private static async Task WriteAsync(AsyncDuplexStreamingCall<SyncRequest, SyncResponse> call, SyncRequest request)
    {
        try
        {
            await call.RequestStream.WriteAsync(request).WaitAsync(TestData.Timeout);
        }
        catch (IOException)
        {
            await call.ResponseStream.MoveNext().WaitAsync(TestData.Timeout);
            throw;
        }
    }

    private static async Task<SyncResponse> NextAsync(AsyncDuplexStreamingCall<SyncRequest, SyncResponse> call)
    {
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(TestData.Timeout), "the server ended the stream early");
        return call.ResponseStream.Current;
    }

    private static Batch HeartRate(string deviceId, ulong batchSeq, int samples)
    {
        var set = new SampleSet
        {
            Type = DataType.HeartRate,
            Unit = "count/min",
            BaseTime = Timestamp.FromDateTimeOffset(Origin.AddMinutes((double)batchSeq)),
            Source = new Source { Kind = DeviceKind.Watch, Name = deviceId, Manufacturer = "Acme" },
        };
        for (var i = 0; i < samples; i++)
        {
            set.Samples.Add(new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), StartOffsetMs = i * 1000, ScaledValue = 60 + (i % 40) });
        }

        return new Batch { BatchSeq = batchSeq, SampleSets = { set } };
    }
}
