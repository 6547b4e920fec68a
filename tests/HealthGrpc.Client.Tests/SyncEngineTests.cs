using System.Text;
using System.Text.Json;
using Google.Protobuf;
using HealthGrpc.Client.Tests.Infrastructure;
using HealthGrpc.Contracts.V1;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace HealthGrpc.Client.Tests;

/// <summary>The sync engine against the real reference server on loopback.</summary>
public sealed class SyncEngineTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Drain_StoresEverySampleExactlyOnce_AndCommitsAnchors()
    {
        await using var server = await TestServer.StartAsync();
        var source = new SimulatedSource([DataType.HeartRate, DataType.Steps, DataType.HeartRateVariabilitySdnn], DateTimeOffset.UtcNow.AddHours(-3));
        source.Append(DataType.HeartRate, 2500);
        source.Append(DataType.Steps, 300);
        source.Append(DataType.HeartRateVariabilitySdnn, 5);
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token);
        options.Sources.Add(source);
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            Assert.Equal(2805, await server.CountSamplesAsync());
            Assert.Equal(2805, events.CommittedAccepted);
            Assert.Equal(0, events.CommittedDuplicates);
            var anchors = await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(source.LatestAnchor(DataType.HeartRate), anchors.Single(a => a.Type == DataType.HeartRate).Anchor);
            Assert.Equal(source.LatestAnchor(DataType.Steps), anchors.Single(a => a.Type == DataType.Steps).Anchor);
            Assert.Equal(source.LatestAnchor(DataType.HeartRateVariabilitySdnn), anchors.Single(a => a.Type == DataType.HeartRateVariabilitySdnn).Anchor);

            // Tier 2 travels as atomic batches carrying both tier-2 types' anchors; the HRV batch (tier 1) went first.
            var sent = events.Of(SyncEventKind.Sent).ToList();
            Assert.Equal(SyncTier.Immediate, sent[0].Tier);
            var status = await client.GetStatusAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(0, status.PendingBatches);
            Assert.NotNull(status.LastSuccessfulSync);
            Assert.Equal(1ul, status.Epoch);

            // A second collect finds nothing new; the catch-up re-read of the last 24 h is deduplicated by the server.
            Assert.Equal(0, await client.CollectAsync().WaitAsync(TestClient.Timeout));
            var before = events.CommittedAccepted;
            await client.DrainAsync(includeCatchUp: true).WaitAsync(TestClient.Timeout);
            Assert.Equal(2805, await server.CountSamplesAsync());
            Assert.Equal(before, events.CommittedAccepted);
            Assert.Equal(2805, events.CommittedDuplicates);
            Assert.Contains(events.Of(SyncEventKind.Sent), e => e.Tier == SyncTier.CatchUp);
        }
    }

    public static TheoryData<string> Faults => new()
    {
        "DropAfterBytesToClient:600",
        "DropAfterBytesToServer:40000",
        "ResetAfterBytesToServer:60000",
        "BlackHoleAfterBytesToServer:30000",
        "LoseResponsesAfterBytesToServer:30000",
        "Delay:20",
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Fault_EverySampleStoredExactlyOnce(string spec)
    {
        var parts = spec.Split(':');
        var kind = Enum.Parse<FaultKind>(parts[0]);
        var fault = kind == FaultKind.Delay
            ? new Fault(kind, Delay: TimeSpan.FromMilliseconds(int.Parse(parts[1])))
            : new Fault(kind, Bytes: long.Parse(parts[1]), Connections: 2);
        await using var server = await TestServer.StartAsync();
        await using var proxy = new FaultProxy(server.Address);
        proxy.Arm(fault);
        // A black hole and lost responses are found by the ack watchdog alone: a short one keeps the test quick.
        var watchdog = kind is FaultKind.BlackHoleAfterBytesToServer or FaultKind.LoseResponsesAfterBytesToServer ? TimeSpan.FromSeconds(3) : (TimeSpan?)null;
        var (client, events) = await TestClient.OpenAsync(TestClient.Options(proxy.Address, Path.Combine(server.Directory, "client.db"), server.Token, ackTimeout: watchdog));
        await using (client)
        {
            const int n = 20_000;
            await client.EnqueueAsync([TestClient.HeartRate(n)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            output.WriteLine($"{fault}: triggered {proxy.Triggered}x, connections {proxy.Connections}, sent {events.Of(SyncEventKind.Sent).Count()}, " +
                $"duplicate acks {events.DuplicateAcks}, retries {events.Of(SyncEventKind.RetryScheduled).Count()}");
            foreach (var e in events.Of(SyncEventKind.Acked).Where(e => e.Ack!.Accepted != 1000))
            {
                output.WriteLine($"odd ack: id={e.BatchId} seq={e.BatchSeq} {e.Ack}");
            }

            Assert.Equal(n, await server.CountSamplesAsync());
            Assert.Equal(n, events.AllAccepted); // every batch committed exactly once (acked now, or a lost ack replayed as DUPLICATE)
            Assert.Equal(0, events.AllDuplicateItems); // no sample reached the server in two commits
            Assert.Equal(events.AckedBatchIds.Distinct().Count(), events.AckedBatchIds.Count);
            Assert.Equal(0, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).QuarantinedBatches);
            if (kind != FaultKind.Delay)
            {
                Assert.True(proxy.Triggered >= 1, "the fault never fired: the test proves nothing");
                Assert.True(proxy.Connections >= 2, "no reconnect happened");
            }

            // No loop: each of the 20 batches is sent at most a few times.
            Assert.True(events.Of(SyncEventKind.Sent).Count() <= 20 * 4, $"{events.Of(SyncEventKind.Sent).Count()} sends for 20 batches");
        }
    }

    [Fact]
    public async Task LostAck_IsAnsweredAsDuplicate_AndTheQueueMovesOn()
    {
        await using var server = await TestServer.StartAsync();
        await using var proxy = new FaultProxy(server.Address);
        // Requests reach the server (and commit), responses are swallowed: the acks are lost.
        proxy.Arm(new Fault(FaultKind.LoseResponsesAfterBytesToServer, Bytes: 2000));
        var source = new SimulatedSource([DataType.HeartRate], DateTimeOffset.UtcNow.AddHours(-2));
        source.Append(DataType.HeartRate, 3000);
        var options = TestClient.Options(proxy.Address, Path.Combine(server.Directory, "client.db"), server.Token, ackTimeout: TimeSpan.FromSeconds(3));
        options.Sources.Add(source);
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            foreach (var e in events.All)
            {
                output.WriteLine($"{e.Kind} id={e.BatchId} seq={e.BatchSeq} tier={e.Tier} n={e.SampleCount} ack={e.Ack?.Outcome}/{e.Ack?.Accepted}/{e.Ack?.Duplicates} {e.Message}");
            }

            Assert.Equal(3000, await server.CountSamplesAsync());
            Assert.True(events.DuplicateAcks >= 1, "the replay after the lost ack was not answered as a duplicate");
            Assert.Equal(3000, events.AllAccepted);
            Assert.Equal(0, events.AllDuplicateItems);
            Assert.True(events.Of(SyncEventKind.Sent).Count() <= 3 * 3, "a replay loop");
            var anchors = await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(source.LatestAnchor(DataType.HeartRate), anchors.Single().Anchor);
        }
    }

    [Fact]
    public async Task Reinstall_RestoresAnchorsFromCheckpoint_AndResendsNothingStored()
    {
        await using var server = await TestServer.StartAsync();
        var source = new SimulatedSource([DataType.HeartRate, DataType.HeartRateVariabilitySdnn], DateTimeOffset.UtcNow.AddHours(-5));
        source.Append(DataType.HeartRate, 4000);
        source.Append(DataType.HeartRateVariabilitySdnn, 10);
        var firstDb = Path.Combine(server.Directory, "first", "client.db");
        var options = TestClient.Options(server.Address, firstDb, server.Token, deviceId: "phone-1");
        options.Sources.Add(source);
        var (first, _) = await TestClient.OpenAsync(options);
        await using (first)
        {
            await first.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
        }

        Assert.Equal(4010, await server.CountSamplesAsync());
        source.Append(DataType.HeartRate, 500);

        // Reinstall: an empty local store, same device id (from the keychain), same HealthKit history.
        var secondOptions = TestClient.Options(server.Address, Path.Combine(server.Directory, "second", "client.db"), server.Token, deviceId: "phone-1");
        secondOptions.Sources.Add(source);
        var (second, events) = await TestClient.OpenAsync(secondOptions);
        await using (second)
        {
            await second.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);
            Assert.Single(events.Of(SyncEventKind.Restored));
            Assert.Equal(4510, await server.CountSamplesAsync());
            Assert.Equal(500, events.CommittedAccepted);
            Assert.Equal(0, events.CommittedDuplicates); // nothing already stored was re-sent
            var status = await second.GetStatusAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(2ul, status.Epoch);
            Assert.Equal(source.LatestAnchor(DataType.HeartRate), status.CommittedAnchors.Single(a => a.Type == DataType.HeartRate).Anchor);
        }

        // The old installation is fenced by the new epoch.
        var (stale, staleEvents) = await TestClient.OpenAsync(TestClient.Options(server.Address, firstDb, server.Token));
        await using (stale)
        {
            await stale.EnqueueAsync([TestClient.HeartRate(5)]).WaitAsync(TestClient.Timeout);
            stale.Start();
            await staleEvents.WaitForAsync(e => e.Kind == SyncEventKind.Fenced, TestClient.Timeout);
            Assert.Equal(SyncState.Fenced, stale.State);
        }

        Assert.Equal(4510, await server.CountSamplesAsync());
    }

    [Fact]
    public async Task AtomicBatch_WithOneImplausibleHeartRate_DeliversTheValidSamplesOnce_QuarantinesTheBadOne_AndMovesTheAnchor()
    {
        await using var server = await TestServer.StartAsync();
        var set = TestClient.HeartRate(10);
        set.Samples[4].ScaledValue = 412; // outside 20..300: the server rejects the whole atomic tier-2 batch
        var options = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token);
        options.Sources.Add(new FixedSource(DataType.HeartRate, [set]));
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);

            Assert.Equal(9, await server.CountSamplesAsync()); // the nine valid samples...
            Assert.Equal(9, events.AllAccepted);               // ...in one commit
            Assert.Equal(0, events.AllDuplicateItems);         // ...exactly once
            var bad = Assert.Single(await client.GetQuarantineAsync().WaitAsync(TestClient.Timeout));
            Assert.Equal(RejectReason.ValueOutOfRange, bad.RejectReason);
            Assert.Contains("412", bad.Reason, StringComparison.Ordinal);
            Assert.Equal(412, Assert.Single(Assert.Single(bad.Content.SampleSets).Samples).ScaledValue);
            Assert.Equal(set.Samples[4].Uuid, bad.Content.SampleSets[0].Samples[0].Uuid);
            Assert.Empty(bad.Content.Anchors);
            Assert.Single(events.Of(SyncEventKind.Requeued));
            Assert.Equal(ByteString.CopyFromUtf8("end"), Assert.Single(await client.GetCommittedAnchorsAsync().WaitAsync(TestClient.Timeout)).Anchor);
            var status = await client.GetStatusAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(0, status.PendingBatches);
            Assert.Equal(1, status.QuarantinedBatches);

            // Exportable: one JSON line naming the reason and holding the sample.
            using var export = new MemoryStream();
            Assert.Equal(1, await client.ExportQuarantineAsync(export).WaitAsync(TestClient.Timeout));
            var line = Assert.Single(Encoding.UTF8.GetString(export.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            using var json = JsonDocument.Parse(line);
            Assert.Equal("ValueOutOfRange", json.RootElement.GetProperty("rejectReason").GetString());
            Assert.Equal("412", json.RootElement.GetProperty("content").GetProperty("sampleSets")[0].GetProperty("samples")[0].GetProperty("scaledValue").GetString());

            // The queue moves on; a retry sends the bad sample alone, which is rejected and quarantined again: no loop.
            await client.EnqueueAsync([TestClient.HeartRate(50)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(1, await client.RetryQuarantinedAsync().WaitAsync(TestClient.Timeout));
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(2, events.Of(SyncEventKind.Quarantined).Count());
            Assert.Single(await client.GetQuarantineAsync().WaitAsync(TestClient.Timeout));
            Assert.Equal(59, await server.CountSamplesAsync());
        }
    }

    [Fact]
    public async Task AnchorOfALaterBatch_WaitsUntilTheRejectedEarlierBatchIsResolved()
    {
        await using var server = await TestServer.StartAsync();
        var set = TestClient.HeartRate(12);
        set.Samples[1].ScaledValue = 412; // in the first of three atomic batches of 5, 5 and 2 (+ the anchor)

        // The case under test: the batch carrying the anchor is acked while the rejected batch's rest is still to be
        // sent. So the client sees no answer (past the Welcome) before it has written all three batches; otherwise a
        // fast rejection lets the rest go out first, ahead of the anchor's batch, and the order checked below is moot.
        var sent = 0;
        var allSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task Hold() => Volatile.Read(ref sent) == 0 ? Task.CompletedTask : allSent.Task.WaitAsync(TestClient.Timeout);
        var options = TestClient.Options(
            server.Address, Path.Combine(server.Directory, "client.db"), server.Token, maxSamplesPerBatch: 5,
            configureChannel: c => c.HttpHandler = new HeldResponseHandler(Hold));
        options.Sources.Add(new FixedSource(DataType.HeartRate, [set]));
        var (client, events) = await TestClient.OpenAsync(options);
        client.Events += (_, e) =>
        {
            if (e.Kind == SyncEventKind.Sent && Interlocked.Increment(ref sent) == 3)
            {
                allSent.TrySetResult();
            }
        };
        await using (client)
        {
            await client.DrainAsync(includeCatchUp: false).WaitAsync(TestClient.Timeout);

            Assert.Equal(11, await server.CountSamplesAsync());
            Assert.Equal(0, events.AllDuplicateItems);
            var all = events.All.ToList();
            var requeued = Assert.Single(all, e => e.Kind == SyncEventKind.Requeued);
            var restAck = all.FindIndex(e => e.Kind == SyncEventKind.Acked && e.BatchId == requeued.BatchId);
            var anchor = all.FindIndex(e => e.Kind == SyncEventKind.AnchorCommitted);
            var lastAck = all.FindIndex(e => e.Kind == SyncEventKind.Acked && e.Ack!.CommittedAnchors.Count > 0);
            Assert.True(lastAck >= 0 && restAck > lastAck, "the rest is sent after the batch carrying the anchor was acked");
            Assert.True(anchor > restAck, "the anchor commits only after the rest of the rejected batch was delivered");
            Assert.Single(all, e => e.Kind == SyncEventKind.AnchorCommitted);
        }
    }

    [Fact]
    public async Task Unauthenticated_PausesUntilTokenUpdated_ThenResumes()
    {
        await using var server = await TestServer.StartAsync();
        var (client, events) = await TestClient.OpenAsync(TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), "not-a-valid-token"));
        await using (client)
        {
            await client.EnqueueAsync([TestClient.HeartRate(1500)]).WaitAsync(TestClient.Timeout);
            client.Start();
            await events.WaitForAsync(e => e.Kind == SyncEventKind.Paused, TestClient.Timeout);
            Assert.Equal(SyncState.PausedUnauthenticated, client.State);
            await Task.Delay(500);
            Assert.Equal(SyncState.PausedUnauthenticated, client.State); // stays paused: no retry storm
            Assert.Equal(0, await server.CountSamplesAsync());
            Assert.Equal(1500, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingSamples);

            client.UpdateToken(server.Token);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Single(events.Of(SyncEventKind.Resumed));
            Assert.Equal(1500, await server.CountSamplesAsync());
        }
    }

    [Fact]
    public async Task Tiers_AreSentInOrder_ImmediateThenBatchThenCatchUp()
    {
        await using var server = await TestServer.StartAsync();
        var (client, events) = await TestClient.OpenAsync(TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token));
        await using (client)
        {
            // Enqueued while the engine is stopped, lowest priority first.
            await client.EnqueueAsync([TestClient.HeartRate(10)], tier: SyncTier.CatchUp).WaitAsync(TestClient.Timeout);
            await client.EnqueueAsync([TestClient.HeartRate(10)], tier: SyncTier.Batch).WaitAsync(TestClient.Timeout);
            await client.EnqueueAsync([TestClient.HeartRate(10)], tier: SyncTier.CatchUp).WaitAsync(TestClient.Timeout);
            await client.EnqueueAsync([TestClient.Single(DataType.HeartRateVariabilitySdnn, 40)], tier: SyncTier.Immediate).WaitAsync(TestClient.Timeout);
            await client.EnqueueAsync([TestClient.HeartRate(10)], tier: SyncTier.Batch).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            var sent = events.Of(SyncEventKind.Sent).ToList();
            Assert.Equal([SyncTier.Immediate, SyncTier.Batch, SyncTier.Batch, SyncTier.CatchUp, SyncTier.CatchUp], sent.Select(e => e.Tier!.Value));
            Assert.Equal([1ul, 2, 3, 4, 5], sent.Select(e => e.BatchSeq!.Value));
            Assert.Equal([2L, 5, 1, 3], sent.Skip(1).Select(e => e.BatchId!.Value)); // enqueue order within a tier
            Assert.Equal(41, await server.CountSamplesAsync());
        }
    }

    [Fact]
    public async Task SequenceGap_InLocalNumbering_IsRenumberedFromTheHighWaterMark()
    {
        await using var server = await TestServer.StartAsync();
        var db = Path.Combine(server.Directory, "client.db");
        var (client, events) = await TestClient.OpenAsync(TestClient.Options(server.Address, db, server.Token));
        await using (client)
        {
            await client.EnqueueAsync([TestClient.HeartRate(10)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            // Stopped first: a running engine would send the next batches at once, before the numbering is rewritten below.
            await client.StopAsync().WaitAsync(TestClient.Timeout);
            await client.EnqueueAsync([TestClient.HeartRate(2000)]).WaitAsync(TestClient.Timeout);
        }

        // Simulate batches numbered past a hole (e.g. a restored backup): seq 7 and 9 while the server's hwm is 1.
        await using (var db2 = new SqliteConnection($"Data Source={db};Pooling=false"))
        {
            await db2.OpenAsync().WaitAsync(TestClient.Timeout);
            using var cmd = db2.CreateCommand();
            cmd.CommandText = "UPDATE batches SET status=1, seq=CASE WHEN id=(SELECT MIN(id) FROM batches) THEN 7 ELSE 9 END; UPDATE meta SET value='9' WHERE key='last_seq';";
            Assert.Equal(3, await cmd.ExecuteNonQueryAsync().WaitAsync(TestClient.Timeout)); // two batches + the meta row
        }

        var (reopened, events2) = await TestClient.OpenAsync(TestClient.Options(server.Address, db, server.Token));
        await using (reopened)
        {
            await reopened.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Single(events2.Of(SyncEventKind.Renumbered));
            Assert.Equal([2ul, 3], events2.Of(SyncEventKind.Sent).Select(e => e.BatchSeq!.Value));
            Assert.Equal(2010, await server.CountSamplesAsync());
        }

        Assert.Empty(events.Of(SyncEventKind.Quarantined));
    }

    [Fact]
    public async Task Immediate_IsDeliveredWithinTheQuickTries_AndFallsBackToTheQueueWhenOffline()
    {
        await using var server = await TestServer.StartAsync();
        await using var proxy = new FaultProxy(server.Address);
        var (client, _) = await TestClient.OpenAsync(TestClient.Options(proxy.Address, Path.Combine(server.Directory, "client.db"), server.Token));
        await using (client)
        {
            var ok = await client.SendImmediateAsync([TestClient.Single(DataType.HeartRateVariabilitySdnn, 42)]).WaitAsync(TestClient.Timeout);
            Assert.True(ok.Delivered);
            Assert.Equal(1, ok.Attempts);
            Assert.Equal(AckOutcome.Committed, Assert.Single(ok.Acks).Outcome);

            // Black-holed: three tries time out, the reading stays queued, and is delivered once the network is back.
            proxy.ResetAll();
            proxy.Arm(new Fault(FaultKind.BlackHoleAfterBytesToServer, Bytes: 1, Connections: 1000));
            var offlineOptions = TestClient.Options(proxy.Address, Path.Combine(server.Directory, "client2.db"), server.Token);
            await using var offline = await HealthSyncClient.OpenAsync(new HealthSyncOptions
            {
                ServerAddress = offlineOptions.ServerAddress,
                DatabasePath = offlineOptions.DatabasePath,
                AccessToken = server.Token,
                AckTimeout = TimeSpan.FromSeconds(1),
                RetryBaseDelay = TimeSpan.FromMilliseconds(100),
                RetryMaxDelay = TimeSpan.FromSeconds(1),
                ImmediateRetryDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(300)],
                ImmediateAttemptTimeout = TimeSpan.FromMilliseconds(700),
            }).WaitAsync(TestClient.Timeout);
            var queued = await offline.SendImmediateAsync([TestClient.Single(DataType.HeartRateVariabilitySdnn, 43)]).WaitAsync(TestClient.Timeout);
            Assert.False(queued.Delivered);
            Assert.Equal(3, queued.Attempts);
            Assert.Equal(1, (await offline.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingSamples);
            proxy.Arm(new Fault(FaultKind.None));
            proxy.ResetAll();
            await offline.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(2, await server.CountSamplesAsync());
        }
    }
}
