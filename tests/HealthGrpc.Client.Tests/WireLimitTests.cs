using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using Xunit.Abstractions;

namespace HealthGrpc.Client.Tests;

/// <summary>The SDK honours every limit of the Welcome, refuses clear-text tokens, and reads standard error details.</summary>
public sealed class WireLimitTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, int> ServerLimits => new()
    {
        // (setting, value, client MaxSamplesPerBatch): the client's own batches are far larger than the server accepts.
        { "--Ingest:MaxMessageBytes", "4096", 1000 },
        { "--Ingest:MaxSamplesPerBatch", "150", 1000 },
    };

    [Theory]
    [MemberData(nameof(ServerLimits))]
    public async Task SmallServerLimits_BatchesAreSplitAtDispatch_EverythingArrivesExactlyOnce_NothingRefused(string setting, string value, int clientBatch)
    {
        await using var server = await TestServer.StartAsync(null, setting, value);
        var source = new SimulatedSource([DataType.HeartRate, DataType.Steps, DataType.HeartRateVariabilitySdnn], DateTimeOffset.UtcNow.AddHours(-3));
        source.Append(DataType.HeartRate, 3000);
        source.Append(DataType.Steps, 400);
        source.Append(DataType.HeartRateVariabilitySdnn, 20);
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token, maxSamplesPerBatch: clientBatch);
        options.Sources.Add(source);
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            var queued = await client.EnqueueAsync([TestClient.HeartRate(2500)]).WaitAsync(TestClient.Timeout);
            Assert.Equal(3, queued.BatchIds.Count);
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            const long total = 3000 + 400 + 20 + 2500;
            var sent = events.Of(SyncEventKind.Sent).ToList();
            output.WriteLine($"{setting}={value}: {sent.Count} batches sent, {events.Of(SyncEventKind.RetryScheduled).Count()} retries");

            Assert.Equal(total, await server.CountSamplesAsync());
            Assert.Equal(total, events.AllAccepted);
            Assert.Equal(0, events.AllDuplicateItems);
            Assert.Equal(0, events.DuplicateAcks); // no batch needed a second try
            Assert.Empty(events.Of(SyncEventKind.Quarantined)); // nothing refused, nothing poisoned
            Assert.Empty(events.Of(SyncEventKind.RetryScheduled)); // no stream ended in RESOURCE_EXHAUSTED
            Assert.Equal(events.AckedBatchIds.Distinct().Count(), events.AckedBatchIds.Count);
            Assert.Equal([.. Enumerable.Range(1, sent.Count).Select(i => (ulong)i)], sent.Select(e => e.BatchSeq!.Value)); // gap-free numbering
            Assert.True(sent.Count >= total / 150, $"only {sent.Count} batches: the server's limit was not applied");
            var status = await client.GetStatusAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(0, status.PendingBatches);
            Assert.Equal(0, status.QuarantinedBatches);
            foreach (var type in source.Types)
            {
                Assert.Equal(source.LatestAnchor(type), status.CommittedAnchors.Single(a => a.Type == type).Anchor);
            }
        }
    }

    [Fact]
    public async Task ItemTooLargeOnItsOwn_IsQuarantinedWithAReason_TheRestIsDelivered_NoLoop()
    {
        await using var server = await TestServer.StartAsync(null, "--Ingest:MaxMessageBytes", "1024");
        // A sample set whose header alone (a 2 KB source name) cannot fit any request the server accepts.
        var huge = TestClient.HeartRate(3);
        huge.Source = new Source { Kind = DeviceKind.Wearable, Name = new string('x', 2048) };
        var atomicHuge = TestClient.HeartRate(2);
        atomicHuge.Source = huge.Source;
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token);
        options.Sources.Add(new FixedSource(DataType.HeartRate, [atomicHuge, TestClient.HeartRate(10)])); // tier 2: atomic
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.EnqueueAsync([TestClient.HeartRate(40), huge, TestClient.HeartRate(60)]).WaitAsync(TestClient.Timeout); // not atomic
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);

            // The sendable items of both batches; an atomic batch loses only its unsendable items, never its valid ones.
            Assert.Equal(110, await server.CountSamplesAsync());
            Assert.Equal(110, events.AllAccepted);
            Assert.Empty(events.Of(SyncEventKind.RetryScheduled));
            var quarantined = await client.GetQuarantineAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(5, quarantined.Count); // five lone samples: three of the plain batch, two of the atomic one
            Assert.All(quarantined, q => Assert.Contains("max_message_bytes (1024)", q.Reason, StringComparison.Ordinal));
            Assert.All(quarantined, q => Assert.Equal(1, q.ItemCount));
            Assert.All(quarantined, q => Assert.Null(q.RejectReason)); // never sent: the server gave no reason code
            Assert.All(await client.GetQueuedBatchesAsync(QueuedBatchStatus.Quarantined).WaitAsync(TestClient.Timeout), b => Assert.Null(b.BatchSeq));
            // Everything the anchor covers is delivered or quarantined: it commits.
            Assert.Equal(ByteString.CopyFromUtf8("end"), Assert.Single(await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout)).Anchor);
            Assert.Equal(5, events.Of(SyncEventKind.Quarantined).Count());

            // Retrying fails them again locally, without a send, a loop or new rows.
            Assert.Equal(5, await client.RetryQuarantinedAsync().WaitAsync(TestClient.Timeout));
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(10, events.Of(SyncEventKind.Quarantined).Count());
            Assert.Equal(5, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).QuarantinedBatches);
            Assert.Equal(110, await server.CountSamplesAsync());
        }
    }

    [Theory]
    [InlineData("http://health.example.com")]
    [InlineData("http://10.0.0.7:5000")]
    public async Task HttpToANonLoopbackHost_IsRefused_UnlessAllowed(string address)
    {
        var dir = TempDir.Create();
        var refused = await Assert.ThrowsAsync<ArgumentException>(() =>
            HealthSyncClient.OpenAsync(TestClient.Options(new Uri(address), Path.Combine(dir, "a.db"), "t"))).WaitAsync(TestClient.Timeout);
        Assert.Contains(nameof(HealthSyncOptions.AllowInsecureChannel), refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "a.db"))); // refused before anything was created

        var o = TestClient.Options(new Uri(address), Path.Combine(dir, "b.db"), "t");
        var allowed = new HealthSyncOptions { ServerAddress = o.ServerAddress, DatabasePath = o.DatabasePath, AccessToken = "t", AllowInsecureChannel = true };
        await using var client = await HealthSyncClient.OpenAsync(allowed).WaitAsync(TestClient.Timeout);
        Assert.Equal(SyncState.Stopped, client.State);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000")]
    [InlineData("http://localhost:5000")]
    [InlineData("http://[::1]:5000")]
    [InlineData("https://health.example.com")]
    public async Task LoopbackHttpAndAnyHttps_AreAccepted(string address)
    {
        var dir = TempDir.Create();
        await using var client = await HealthSyncClient.OpenAsync(TestClient.Options(new Uri(address), Path.Combine(dir, "c.db"), "t")).WaitAsync(TestClient.Timeout);
        Assert.Equal(SyncState.Stopped, client.State);
    }

    [Fact]
    public void ReadErrorDetail_ReadsTheStandardStatusDetailsTrailer()
    {
        var detail = new ErrorDetail { Reason = ErrorReason.SequenceGap, HighWaterMark = 41, CurrentEpoch = 3 };
        var status = new Google.Rpc.Status { Code = (int)StatusCode.FailedPrecondition, Message = "gap", Details = { Any.Pack(detail) } };
        var error = new RpcException(new Status(StatusCode.FailedPrecondition, "gap"), new Metadata { { "grpc-status-details-bin", status.ToByteArray() } });
        Assert.Equal(detail, HealthSyncClient.ReadErrorDetail(error));

        Assert.Null(HealthSyncClient.ReadErrorDetail(new RpcException(new Status(StatusCode.FailedPrecondition, "no details"))));
        Assert.Null(HealthSyncClient.ReadErrorDetail(new RpcException(new Status(StatusCode.Internal, "x"), new Metadata { { "grpc-status-details-bin", new byte[] { 0xff, 0xff } } })));
    }

    [Fact]
    public void Splitter_KeepsEveryItemInOrder_FitsEveryChunk_AnchorsLast()
    {
        var random = new Random(7);
        for (var round = 0; round < 200; round++)
        {
            var batch = new Batch { Atomic = random.Next(2) == 0, Priority = Priority.Batch };
            for (var s = random.Next(0, 4); s > 0; s--)
            {
                var set = TestClient.HeartRate(random.Next(0, 300));
                set.Source.Name = new string('s', random.Next(0, 200));
                batch.SampleSets.Add(set);
            }

            for (var d = random.Next(0, 50); d > 0; d--)
            {
                batch.Deletions.Add(new Deletion { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), DeletedTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow) });
            }

            batch.Anchors.Add(new SourceAnchor { Type = DataType.HeartRate, Anchor = ByteString.CopyFromUtf8(new string('a', random.Next(1, 64))) });
            var maxBytes = random.Next(400, 20_000);
            var maxSamples = random.Next(1, 400);
            var split = BatchSplitter.Split(batch, maxSamples, maxBytes);

            Assert.Empty(split.Oversized);
            Assert.All(split.Chunks, c => Assert.True(BatchSplitter.RequestSize(c) <= maxBytes));
            Assert.All(split.Chunks, c => Assert.True(BatchSplitter.CountSamples(c) <= maxSamples));
            Assert.All(split.Chunks, c => Assert.Equal(batch.Atomic, c.Atomic));
            Assert.All(split.Chunks.SkipLast(1), c => Assert.Empty(c.Anchors));
            Assert.Equal(batch.Anchors, split.Chunks[^1].Anchors);
            Assert.Equal(batch.SampleSets.SelectMany(x => x.Samples), split.Chunks.SelectMany(c => c.SampleSets).SelectMany(x => x.Samples));
            Assert.Equal(batch.Deletions, split.Chunks.SelectMany(c => c.Deletions));
            Assert.Equal(BatchSplitter.CountItems(batch), split.Chunks.Sum(BatchSplitter.CountItems));
        }
    }
}
