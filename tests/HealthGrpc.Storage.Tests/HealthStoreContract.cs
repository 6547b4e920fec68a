using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// The behavior every <see cref="IHealthStore"/> must have (SQLite now, PostgreSQL later): each implementation
/// subclasses this and provides fresh, isolated stores. Every test uses its own random user ids.
/// </summary>
public abstract partial class HealthStoreContract
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    /// <summary>Disposes <paramref name="store"/> and opens the same database again.</summary>
    protected abstract Task<IHealthStore> ReopenAsync(IHealthStore store);

    /// <summary>Stored discrete samples of the user, counted through the provider's own connection (not a store API).</summary>
    protected abstract Task<long> CountSamplesAsync(IHealthStore store, string userId, CancellationToken ct);

    // ---- users and tokens ----------------------------------------------------------------------------------------

    [Fact]
    public async Task Tokens_AddThenFind_ReturnsUser_UnknownReturnsNull()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var hash = Guid.NewGuid().ToByteArray().Concat(Guid.NewGuid().ToByteArray()).ToArray();
        await store.CreateUserAsync(user, None).T30();
        await store.CreateUserAsync(user, None).T30(); // idempotent
        await store.AddTokenAsync(user, hash, None).T30();
        await store.AddTokenAsync(user, hash, None).T30(); // idempotent

        Assert.Equal(user, await store.FindUserByTokenHashAsync(hash, None).T30());
        Assert.Null(await store.FindUserByTokenHashAsync(new byte[32], None).T30());
    }

    // ---- per-sample dedup ----------------------------------------------------------------------------------------

    [Fact]
    public async Task Commit_NewSamples_AreStored_AndCounted()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var samples = Enumerable.Range(0, 100).Select(i => Sample(start: 1_700_000_000_000 + i * 1000L)).ToList();

        var outcome = await store.CommitAsync(Batch(user, "d1", 1, samples), None).T30();

        var committed = Assert.IsType<CommitOutcome.Committed>(outcome);
        Assert.Equal(100, committed.Result.Accepted);
        Assert.Equal(0, committed.Result.Duplicates);
        Assert.Equal(1UL, committed.Result.HighWaterMark);
        Assert.Equal(100L, committed.Result.ChangeSequence);
        Assert.False(committed.Result.RejectedAtomic);
        Assert.Contains("acc=100;", System.Text.Encoding.UTF8.GetString(committed.AckBytes), StringComparison.Ordinal);
        Assert.Equal(100L, await CountSamplesAsync(store, user, None).T30());
        Assert.Equal(100L, await store.GetChangeSequenceAsync(user, None).T30());
    }

    [Fact]
    public async Task DuplicateUuid_InsideOneBatch_SecondCountsAsDuplicate()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var s = Sample();

        var result = (await store.CommitAsync(Batch(user, "d1", 1, [s, s with { Quantity = 99 }, Sample()]), None).T30()).Committed();

        Assert.Equal(2, result.Accepted);
        Assert.Equal(1, result.Duplicates);
        Assert.Equal(2L, await CountSamplesAsync(store, user, None).T30());
        var changes = await ReadAllChangesAsync(store, user);
        Assert.Equal(72, changes.Single(c => c.Uuid == s.Uuid).Sample!.Quantity); // the first one wins
    }

    [Fact]
    public async Task DuplicateUuid_AcrossBatches_AndAcrossDevicesOfTheSameUser()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var samples = Enumerable.Range(0, 10).Select(i => Sample(start: 1_700_000_000_000 + i)).ToList();

        Assert.Equal(10, (await store.CommitAsync(Batch(user, "phone", 1, samples), None).T30()).Committed().Accepted);
        var again = (await store.CommitAsync(Batch(user, "phone", 2, samples), None).T30()).Committed();
        var otherDevice = (await store.CommitAsync(Batch(user, "watch", 1, [.. samples, Sample()]), None).T30()).Committed();

        Assert.Equal((0, 10), (again.Accepted, again.Duplicates));
        Assert.Equal((1, 10), (otherDevice.Accepted, otherDevice.Duplicates));
        Assert.Equal(11L, await CountSamplesAsync(store, user, None).T30());
        Assert.Equal(11L, await store.GetChangeSequenceAsync(user, None).T30());
    }

    [Fact]
    public async Task SameUuid_InTwoUsers_IsTwoSamples()
    {
        await using var store = await CreateStoreAsync().T30();
        var (alice, bob) = (NewUser(), NewUser());
        var s = Sample();

        Assert.Equal(1, (await store.CommitAsync(Batch(alice, "d", 1, [s]), None).T30()).Committed().Accepted);
        Assert.Equal(1, (await store.CommitAsync(Batch(bob, "d", 1, [s]), None).T30()).Committed().Accepted);

        Assert.Equal(1L, await CountSamplesAsync(store, alice, None).T30());
        Assert.Equal(1L, await CountSamplesAsync(store, bob, None).T30());
        Assert.Equal(1L, (await store.CommitAsync(Batch(bob, "d", 2, [], deletions: [new(s.Uuid, 1)]), None).T30()).Committed().Accepted);
        Assert.Equal(1L, await CountSamplesAsync(store, alice, None).T30()); // bob's tombstone does not touch alice
        Assert.Equal(0L, await CountSamplesAsync(store, bob, None).T30());
        Assert.Equal(1, (await store.CommitAsync(Batch(alice, "d", 2, [s]), None).T30()).Committed().Duplicates);
    }

    // ---- per-device idempotence ----------------------------------------------------------------------------------

    [Fact]
    public async Task Replay_ReturnsTheOriginalAckBytes_AndAppliesNothing()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var first = Assert.IsType<CommitOutcome.Committed>(await store.CommitAsync(Batch(user, "d1", 1, [Sample(), Sample()]), None).T30());
        await store.CommitAsync(Batch(user, "d1", 2, [Sample()]), None).T30();

        var encodeCalls = 0;
        var replay = await store.CommitAsync(
            Batch(user, "d1", 1, [Sample(), Sample()], encodeAck: r => { encodeCalls++; return EncodeAck(r); }), None).T30();

        var duplicate = Assert.IsType<CommitOutcome.Duplicate>(replay);
        Assert.Equal(first.AckBytes, duplicate.OriginalAckBytes);
        Assert.Equal(2UL, duplicate.HighWaterMark);
        Assert.Equal(0, encodeCalls);
        Assert.Equal(3L, await CountSamplesAsync(store, user, None).T30());
    }

    [Fact]
    public async Task Gap_AnswersSequenceGap_WithTheHighWaterMark_AndStoresNothing()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        Assert.Equal(1UL, (await store.CommitAsync(Batch(user, "d1", 1, [Sample()]), None).T30()).Committed().HighWaterMark);

        var gap = await store.CommitAsync(Batch(user, "d1", 3, [Sample()]), None).T30();

        Assert.Equal(new CommitOutcome.SequenceGap(1), gap);
        Assert.Equal(1L, await CountSamplesAsync(store, user, None).T30());
        Assert.Equal(new DeviceState(1, 1, false), await store.GetDeviceStateAsync(user, "d1", 1, None).T30());
        var neverSeen = await store.CommitAsync(Batch(user, "d2", 2, [Sample()]), None).T30();
        Assert.Equal(new CommitOutcome.SequenceGap(0), neverSeen);
        Assert.Null(await store.GetCheckpointAsync(user, "d2", None).T30());
    }

    [Fact]
    public async Task SameDevice_PipelinedBatches_InOneGroup_ApplyInOrder()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();

        var tasks = Enumerable.Range(1, 20).Select(seq => store.CommitAsync(Batch(user, "d1", (ulong)seq, [Sample()]), None)).ToList();
        var outcomes = await Task.WhenAll(tasks).T30();

        Assert.All(outcomes, o => Assert.IsType<CommitOutcome.Committed>(o));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (ulong)i), outcomes.Select(o => o.Committed().HighWaterMark));
        Assert.Equal(20L, await CountSamplesAsync(store, user, None).T30());
    }

    [Fact]
    public async Task NewerEpoch_FencesTheOlder_AndRestartsAtOne()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        await store.CommitAsync(Batch(user, "d1", 1, [Sample()], epoch: 1), None).T30();
        await store.CommitAsync(Batch(user, "d1", 2, [Sample()], epoch: 1), None).T30();

        Assert.Equal(new CommitOutcome.SequenceGap(0), await store.CommitAsync(Batch(user, "d1", 2, [Sample()], epoch: 2), None).T30());
        Assert.Equal(new DeviceState(0, 1, false), await store.GetDeviceStateAsync(user, "d1", 2, None).T30()); // a gap does not register the epoch

        var reinstall = (await store.CommitAsync(Batch(user, "d1", 1, [Sample()], epoch: 2), None).T30()).Committed();
        Assert.Equal(1UL, reinstall.HighWaterMark);

        var old = await store.CommitAsync(Batch(user, "d1", 3, [Sample()], epoch: 1), None).T30();
        Assert.Equal(new CommitOutcome.EpochFenced(2, 2), old); // the high-water mark of epoch 1, the batch's own
        var oldReplay = await store.CommitAsync(Batch(user, "d1", 1, [Sample()], epoch: 1), None).T30();
        Assert.Equal(new CommitOutcome.EpochFenced(2, 2), oldReplay);
        Assert.Equal(new DeviceState(2, 2, true), await store.GetDeviceStateAsync(user, "d1", 1, None).T30());
        Assert.Equal(new DeviceState(1, 2, false), await store.GetDeviceStateAsync(user, "d1", 2, None).T30());
        Assert.Equal(new DeviceState(0, 2, false), await store.GetDeviceStateAsync(user, "d1", 3, None).T30());
        Assert.Equal(3L, await CountSamplesAsync(store, user, None).T30());
        var checkpoint = await store.GetCheckpointAsync(user, "d1", None).T30();
        Assert.Equal((2UL, 1UL), (checkpoint!.Epoch, checkpoint.HighWaterMark));
    }

    [Fact]
    public async Task DeviceState_OfUnknownDevice_IsZero()
    {
        await using var store = await CreateStoreAsync().T30();
        Assert.Equal(new DeviceState(0, 0, false), await store.GetDeviceStateAsync(NewUser(), "nope", 1, None).T30());
    }

    // ---- tombstones ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task Tombstone_DeletesTheSample_ThenAReuploadIsIgnored()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var s = Sample();
        await store.CommitAsync(Batch(user, "d1", 1, [s, Sample()]), None).T30();

        var deletion = (await store.CommitAsync(Batch(user, "d1", 2, deletions: [new(s.Uuid, 1_700_000_100_000)]), None).T30()).Committed();
        var again = (await store.CommitAsync(Batch(user, "d1", 3, deletions: [new(s.Uuid, 1_700_000_200_000)]), None).T30()).Committed();
        var reupload = (await store.CommitAsync(Batch(user, "phone", 1, [s]), None).T30()).Committed();

        Assert.Equal(1, deletion.Accepted);
        Assert.Equal((0, 1), (again.Accepted, again.Duplicates));
        Assert.Equal((0, 0, 1), (reupload.Accepted, reupload.Duplicates, reupload.IgnoredDeleted));
        Assert.Equal(1L, await CountSamplesAsync(store, user, None).T30());
        var changes = await ReadAllChangesAsync(store, user);
        var tombstone = Assert.Single(changes, c => c.Kind == ChangeKind.Deletion);
        Assert.Equal(s.Uuid, tombstone.Uuid);
        Assert.Equal(1_700_000_100_000, tombstone.Deletion!.DeletedUnixMs);
        Assert.DoesNotContain(changes, c => c.Kind == ChangeKind.Sample && c.Uuid == s.Uuid); // compacted away
        Assert.Equal(3L, await store.GetChangeSequenceAsync(user, None).T30());
    }

    [Fact]
    public async Task Tombstone_BeforeTheSampleEverArrived_WinsOverTheUpload()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var s = Sample();
        var series = Series();
        var wave = Guid.NewGuid();

        var deletion = (await store.CommitAsync(Batch(user, "d1", 1, deletions: [new(s.Uuid, 5), new(series.Uuid, 5), new(wave, 5)]), None).T30()).Committed();
        var upload = (await store.CommitAsync(Batch(user, "d1", 2, [s, Sample()], series: [series], waveforms: [Waveform(wave, 0)]), None).T30()).Committed();

        Assert.Equal(3, deletion.Accepted);
        Assert.Equal((1, 3), (upload.Accepted, upload.IgnoredDeleted));
        Assert.Equal(1L, await CountSamplesAsync(store, user, None).T30());
        Assert.Equal(0L, await store.CountSeriesPointsAsync(user, None).T30());
    }

    [Fact]
    public async Task Tombstone_And_Sample_InTheSameBatch_TombstoneWins()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var s = Sample();

        var result = (await store.CommitAsync(Batch(user, "d1", 1, [s], deletions: [new(s.Uuid, 5)]), None).T30()).Committed();

        Assert.Equal((1, 1), (result.Accepted, result.IgnoredDeleted));
        Assert.Equal(0L, await CountSamplesAsync(store, user, None).T30());
    }

    // ---- sync identifiers ----------------------------------------------------------------------------------------

    [Fact]
    public async Task SyncVersion_Higher_ReplacesTheSample_AndPublishesTheOldUuidAsDeleted()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var v1 = Sample(syncId: "hk-1", syncVersion: 1, value: 60);
        var v2 = Sample(syncId: "hk-1", syncVersion: 2, value: 61);
        await store.CommitAsync(Batch(user, "d1", 1, [v1]), None).T30();

        var result = (await store.CommitAsync(Batch(user, "d1", 2, [v2]), None).T30()).Committed();

        Assert.Equal((0, 1, 0), (result.Accepted, result.Replaced, result.Duplicates));
        Assert.Equal(1L, await CountSamplesAsync(store, user, None).T30());
        var changes = await ReadAllChangesAsync(store, user);
        Assert.Equal([ChangeKind.SampleReplaced, ChangeKind.Sample], changes.Select(c => c.Kind));
        Assert.Equal(v1.Uuid, changes[0].Uuid);
        Assert.Equal(v2.Uuid, changes[1].Uuid);
        Assert.Equal(61, changes[1].Sample!.Quantity);
        Assert.Equal(2UL, changes[1].Sample!.SyncVersion);
        Assert.Equal(3L, result.ChangeSequence);

        // The old uuid uploaded again is a duplicate (its sync identity is at a newer version), not a resurrection.
        var stale = (await store.CommitAsync(Batch(user, "d1", 3, [v1]), None).T30()).Committed();
        Assert.Equal((0, 1), (stale.Accepted, stale.Duplicates));
        Assert.Equal(1L, await CountSamplesAsync(store, user, None).T30());
    }

    [Fact]
    public async Task SyncVersion_LowerOrEqual_IsADuplicate()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        await store.CommitAsync(Batch(user, "d1", 1, [Sample(syncId: "x", syncVersion: 5)]), None).T30();

        var result = (await store.CommitAsync(
            Batch(user, "d1", 2, [Sample(syncId: "x", syncVersion: 5), Sample(syncId: "x", syncVersion: 4)]), None).T30()).Committed();

        Assert.Equal((0, 0, 2), (result.Accepted, result.Replaced, result.Duplicates));
        Assert.Equal(1L, await store.GetChangeSequenceAsync(user, None).T30());
    }

    [Fact]
    public async Task SyncVersion_TwoVersionsInOneBatch_TheNewestStays()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var v3 = Sample(syncId: "x", syncVersion: 3, value: 3);

        var result = (await store.CommitAsync(
            Batch(user, "d1", 1, [Sample(syncId: "x", syncVersion: 1, value: 1), v3, Sample(syncId: "x", syncVersion: 2, value: 2)]), None).T30()).Committed();

        Assert.Equal((1, 1, 1), (result.Accepted, result.Replaced, result.Duplicates));
        var live = (await ReadAllChangesAsync(store, user)).Where(c => c.Kind == ChangeKind.Sample).ToList();
        Assert.Equal(v3.Uuid, Assert.Single(live).Uuid);
    }

    // ---- records -------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Records_LastWriteWins_ByVersion()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        DocumentRecord Doc(ulong version, string body, bool deleted = false)
            => new("com.example/survey", "s-1", version, deleted, "application/json", System.Text.Encoding.UTF8.GetBytes(body), 1_700_000_000_000 + (long)version);

        var first = (await store.CommitAsync(Batch(user, "d1", 1, records: [Doc(2, "{\"a\":2}")]), None).T30()).Committed();
        var older = (await store.CommitAsync(Batch(user, "d1", 2, records: [Doc(1, "{\"a\":1}"), Doc(2, "{\"a\":22}")]), None).T30()).Committed();
        var newer = (await store.CommitAsync(Batch(user, "d1", 3, records: [Doc(5, "{\"a\":5}")]), None).T30()).Committed();
        var delete = (await store.CommitAsync(Batch(user, "d1", 4, records: [Doc(6, "", deleted: true)]), None).T30()).Committed();

        Assert.Equal((1, 0, 0), (first.Accepted, first.Replaced, first.Duplicates));
        Assert.Equal((0, 0, 2), (older.Accepted, older.Replaced, older.Duplicates));
        Assert.Equal((0, 1, 0), (newer.Accepted, newer.Replaced, newer.Duplicates));
        Assert.Equal(1, delete.Replaced);
        var record = Assert.Single(await ReadAllChangesAsync(store, user)).Record!;
        Assert.Equal((6UL, true), (record.Version, record.Deleted));
        Assert.Equal(3L, await store.GetChangeSequenceAsync(user, None).T30());
    }

    // ---- atomic rejection and anchors ----------------------------------------------------------------------------

    [Fact]
    public async Task AtomicRejected_ConsumesTheSeq_StoresNothing_CommitsNoAnchor()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        AnchorRecord[] anchors = [new(HeartRate, null, [1, 2, 3])];

        var outcome = Assert.IsType<CommitOutcome.Committed>(await store.CommitAsync(
            Batch(user, "d1", 1, [Sample(), Sample()], atomic: true, rejected: 1, anchors: anchors,
                deletions: [new(Guid.NewGuid(), 1)], records: [new("t", "i", 1, false, "x", [], 1)]), None).T30());

        Assert.True(outcome.Result.RejectedAtomic);
        Assert.Equal((0, 0, 1), (outcome.Result.Accepted, outcome.Result.Duplicates, outcome.Result.Rejected));
        Assert.Empty(outcome.Result.CommittedAnchors);
        Assert.Equal(1UL, outcome.Result.HighWaterMark);
        Assert.Equal(0L, await CountSamplesAsync(store, user, None).T30());
        Assert.Empty(await ReadAllChangesAsync(store, user));
        var checkpoint = await store.GetCheckpointAsync(user, "d1", None).T30();
        Assert.Equal(1UL, checkpoint!.HighWaterMark);
        Assert.Empty(checkpoint.Anchors);

        var replay = Assert.IsType<CommitOutcome.Duplicate>(await store.CommitAsync(Batch(user, "d1", 1, [Sample()]), None).T30());
        Assert.Equal(outcome.AckBytes, replay.OriginalAckBytes);
        Assert.Equal(1, (await store.CommitAsync(Batch(user, "d1", 2, [Sample()]), None).T30()).Committed().Accepted);
    }

    [Fact]
    public async Task NonAtomic_WithRejections_StoresTheValidItems_AndReportsTheCount()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        AnchorRecord[] anchors = [new(HeartRate, null, [9])];

        var result = (await store.CommitAsync(Batch(user, "d1", 1, [Sample()], rejected: 3, anchors: anchors), None).T30()).Committed();

        Assert.Equal((1, 3, false), (result.Accepted, result.Rejected, result.RejectedAtomic));
        Assert.Single(result.CommittedAnchors);
        Assert.Single((await store.GetCheckpointAsync(user, "d1", None).T30())!.Anchors);
    }

    [Fact]
    public async Task Anchors_LatestPerTypeAndVendorType_OverEpochs()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        await store.CommitAsync(Batch(user, "d1", 1, anchors: [new(HeartRate, null, [1]), new(Steps, null, [1])], epoch: 1), None).T30();
        await store.CommitAsync(Batch(user, "d1", 2, anchors: [new(HeartRate, null, [2]), new(99, "com.x/temp", [1])], epoch: 1), None).T30();
        await store.CommitAsync(Batch(user, "d1", 1, anchors: [new(HeartRate, null, [3]), new(99, "com.x/other", [7])], epoch: 2), None).T30();
        await store.CommitAsync(Batch(user, "other", 1, anchors: [new(Steps, null, [42])]), None).T30();

        var checkpoint = await store.GetCheckpointAsync(user, "d1", None).T30();

        Assert.NotNull(checkpoint);
        Assert.Equal(("d1", 2UL, 1UL), (checkpoint.DeviceId, checkpoint.Epoch, checkpoint.HighWaterMark));
        var byKey = checkpoint.Anchors.ToDictionary(a => (a.Type, a.VendorType), a => a.Anchor);
        Assert.Equal(4, byKey.Count);
        Assert.Equal([3], byKey[(HeartRate, null)]);
        Assert.Equal([1], byKey[(Steps, null)]);
        Assert.Equal([1], byKey[(99, "com.x/temp")]);
        Assert.Equal([7], byKey[(99, "com.x/other")]);
        Assert.True(checkpoint.LastCommit > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.Null(await store.GetCheckpointAsync(NewUser(), "d1", None).T30());
    }

    // ---- series and waveforms ------------------------------------------------------------------------------------

    [Fact]
    public async Task Series_And_WaveformChunks_AreStoredOnce_AndDeletable()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var series = Series(points: 3600);
        var ecg = Guid.NewGuid();

        var first = (await store.CommitAsync(Batch(user, "d1", 1, series: [series, Series(points: 40)], waveforms: [Waveform(ecg, 0)]), None).T30()).Committed();
        var second = (await store.CommitAsync(Batch(user, "d1", 2, series: [series], waveforms: [Waveform(ecg, 0), Waveform(ecg, 1)]), None).T30()).Committed();

        Assert.Equal((3, 0), (first.Accepted, first.Duplicates));
        Assert.Equal((1, 2), (second.Accepted, second.Duplicates));
        Assert.Equal(3640L, await store.CountSeriesPointsAsync(user, None).T30());
        Assert.Equal(0L, await CountSamplesAsync(store, user, None).T30());
        var changes = await ReadAllChangesAsync(store, user);
        var stored = changes.Single(c => c.Uuid == series.Uuid).Series!;
        Assert.Equal(series.Payload, stored.Payload);
        Assert.Equal((series.StartUnixMs, series.EndUnixMs, series.PointCount, series.Unit, series.Source), (stored.StartUnixMs, stored.EndUnixMs, stored.PointCount, stored.Unit, stored.Source));
        Assert.Equal([0U, 1U], changes.Where(c => c.Kind == ChangeKind.Waveform).Select(c => c.Waveform!.ChunkIndex));

        await store.CommitAsync(Batch(user, "d1", 3, deletions: [new(series.Uuid, 9), new(ecg, 9)]), None).T30();
        Assert.Equal(40L, await store.CountSeriesPointsAsync(user, None).T30());
        Assert.DoesNotContain(await ReadAllChangesAsync(store, user), c => c.Kind == ChangeKind.Waveform);
    }

    // ---- change feed ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task ChangeFeed_RoundTripsEveryField_AndPages()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var meta = new Dictionary<string, string> { ["HKMetadataKeyHeartRateMotionContext"] = "1", ["note"] = "ünïcødé \"q\"" };
        var rich = new SampleRecord(Guid.NewGuid(), SleepStage, null, 1_700_000_000_000, 1_700_000_900_000, -300, null, 4, "", Phone, "sid", 7, meta);
        var vendor = new SampleRecord(Guid.NewGuid(), 99, "com.example/skin_temp", 1, 2, null, 36.6, null, "degC", Phone, null, 0, null);
        var plain = Enumerable.Range(0, 25).Select(i => Sample(start: i)).ToList();
        var result = (await store.CommitAsync(Batch(user, "dev-A", 1, [rich, vendor, .. plain]), None).T30()).Committed();

        var first = await store.ReadChangesAsync(user, 0, 10, None).T30();
        Assert.True(first.HasMore);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), first.Changes.Select(c => c.Sequence));
        var all = await ReadAllChangesAsync(store, user, pageSize: 7);
        Assert.Equal(Enumerable.Range(1, 27).Select(i => (long)i), all.Select(c => c.Sequence));
        var last = await store.ReadChangesAsync(user, 27, 10, None).T30();
        Assert.Equal((0, false), (last.Changes.Count, last.HasMore));

        var richChange = all[0];
        Assert.Equal(ChangeKind.Sample, richChange.Kind);
        Assert.Equal("dev-A", richChange.DeviceId);
        Assert.Equal(result.CommitTime, richChange.CommitTime);
        Assert.Equal(rich with { Metadata = null }, richChange.Sample! with { Metadata = null });
        Assert.Equal(meta, richChange.Sample!.Metadata);
        Assert.Equal(vendor, all[1].Sample);
        Assert.Equal(plain[3], all[5].Sample);
    }

    [Fact]
    public async Task ChangeFeed_OfAnUnknownUser_IsEmpty()
    {
        await using var store = await CreateStoreAsync().T30();
        var page = await store.ReadChangesAsync(NewUser(), 0, 100, None).T30();
        Assert.Empty(page.Changes);
        Assert.False(page.HasMore);
        Assert.Equal(0L, await CountSamplesAsync(store, NewUser(), None).T30());
    }

    [Fact]
    public async Task ChangeSequences_AreStrictlyIncreasing_WithoutGaps_AcrossConcurrentCommits()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();
        const int Devices = 8, BatchesPerDevice = 10, SamplesPerBatch = 25;

        var tasks = Enumerable.Range(0, Devices).Select(d => Task.Run(async () =>
        {
            var results = new List<CommitResult>();
            for (var b = 1; b <= BatchesPerDevice; b++)
            {
                var samples = Enumerable.Range(0, SamplesPerBatch).Select(_ => Sample()).ToList();
                var deletions = b % 3 == 0 ? new List<TombstoneRecord> { new(Guid.NewGuid(), 1) } : [];
                results.Add((await store.CommitAsync(Batch(user, $"dev-{d}", (ulong)b, samples, deletions: deletions), None)).Committed());
            }

            return results;
        })).ToList();
        var perDevice = await Task.WhenAll(tasks).T30();

        var expected = Devices * BatchesPerDevice * SamplesPerBatch + Devices * (BatchesPerDevice / 3);
        var all = await ReadAllChangesAsync(store, user, pageSize: 333);
        Assert.Equal(Enumerable.Range(1, expected).Select(i => (long)i), all.Select(c => c.Sequence));
        Assert.Equal(expected, await store.GetChangeSequenceAsync(user, None).T30());
        var batchSequences = perDevice.SelectMany(r => r).Select(r => r.ChangeSequence).OrderBy(s => s).ToList();
        Assert.Equal(batchSequences.Distinct().Count(), batchSequences.Count);
        Assert.Equal(expected, batchSequences[^1]);
        foreach (var device in perDevice)
        {
            Assert.True(device.Select(r => r.ChangeSequence).Zip(device.Skip(1).Select(r => r.ChangeSequence)).All(p => p.First < p.Second));
        }

        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.CommitTime <= p.Second.CommitTime));
    }

    // ---- concurrency and durability ------------------------------------------------------------------------------

    [Fact]
    public async Task FiftyConcurrentCommits_AllComplete_AndAreAllStored()
    {
        await using var store = await CreateStoreAsync().T30();
        var users = Enumerable.Range(0, 5).Select(_ => NewUser()).ToArray();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() =>
            store.CommitAsync(Batch(users[i % 5], $"device-{i}", 1, Enumerable.Range(0, 40).Select(_ => Sample()).ToList()), None)))).T30();

        Assert.All(outcomes, o => Assert.Equal(40, o.Committed().Accepted));
        foreach (var user in users)
        {
            Assert.Equal(400L, await CountSamplesAsync(store, user, None).T30());
            Assert.Equal(400L, await store.GetChangeSequenceAsync(user, None).T30());
        }
    }

    [Fact]
    public async Task Reopen_EverythingCommittedIsThere()
    {
        var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var hash = new byte[] { 1, 2, 3, 4 };
        await store.AddTokenAsync(user, hash, None).T30();
        var first = Assert.IsType<CommitOutcome.Committed>(await store.CommitAsync(
            Batch(user, "d1", 1, [Sample(), Sample()], anchors: [new(HeartRate, null, [5])], series: [Series(points: 10)],
                records: [new("t", "i", 1, false, "text/plain", [1], 1)]), None).T30());
        await store.CommitAsync(Batch(user, "d1", 2, deletions: [new(Guid.NewGuid(), 3)]), None).T30();

        store = await ReopenAsync(store).T30();
        await using (store)
        {
            Assert.Equal(user, await store.FindUserByTokenHashAsync(hash, None).T30());
            Assert.Equal(2L, await CountSamplesAsync(store, user, None).T30());
            Assert.Equal(10L, await store.CountSeriesPointsAsync(user, None).T30());
            Assert.Equal(5L, await store.GetChangeSequenceAsync(user, None).T30());
            Assert.Equal(5, (await ReadAllChangesAsync(store, user)).Count);
            var checkpoint = await store.GetCheckpointAsync(user, "d1", None).T30();
            Assert.Equal((1UL, 2UL, 1), (checkpoint!.Epoch, checkpoint.HighWaterMark, checkpoint.Anchors.Count));
            var replay = Assert.IsType<CommitOutcome.Duplicate>(await store.CommitAsync(Batch(user, "d1", 1), None).T30());
            Assert.Equal(first.AckBytes, replay.OriginalAckBytes);
            var next = (await store.CommitAsync(Batch(user, "d1", 3, [Sample()]), None).T30()).Committed();
            Assert.Equal((3UL, 6L), (next.HighWaterMark, next.ChangeSequence));
        }
    }

    [Fact]
    public async Task Dispose_DrainsQueuedCommits()
    {
        var store = await CreateStoreAsync().T30();
        var user = NewUser();
        var pending = Enumerable.Range(1, 30).Select(seq => store.CommitAsync(Batch(user, "d1", (ulong)seq, [Sample(), Sample()]), None)).ToList();

        await store.DisposeAsync().AsTask().T30();

        var outcomes = await Task.WhenAll(pending).T30();
        Assert.All(outcomes, o => Assert.IsType<CommitOutcome.Committed>(o));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CommitAsync(Batch(user, "d1", 31), None)).T30();
        store = await ReopenAsync(store).T30();
        await using (store)
        {
            Assert.Equal(60L, await CountSamplesAsync(store, user, None).T30());
        }
    }

    [Fact]
    public async Task AFailingEncodeAck_FailsOnlyItsOwnBatch()
    {
        await using var store = await CreateStoreAsync().T30();
        var user = NewUser();

        var good1 = store.CommitAsync(Batch(user, "a", 1, [Sample()]), None);
        var bad = store.CommitAsync(Batch(user, "b", 1, [Sample(), Sample()], encodeAck: _ => throw new InvalidOperationException("boom")), None);
        var good2 = store.CommitAsync(Batch(user, "c", 1, [Sample()]), None);

        Assert.Equal("boom", (await Assert.ThrowsAsync<InvalidOperationException>(() => bad).T30()).Message);
        Assert.Equal(1, (await good1.T30()).Committed().Accepted);
        Assert.Equal(1, (await good2.T30()).Committed().Accepted);
        Assert.Equal(2L, await CountSamplesAsync(store, user, None).T30());
        Assert.Equal(new DeviceState(0, 0, false), await store.GetDeviceStateAsync(user, "b", 1, None).T30());
        Assert.Equal(Enumerable.Range(1, 2).Select(i => (long)i), (await ReadAllChangesAsync(store, user)).Select(c => c.Sequence));
        Assert.Equal(1, (await store.CommitAsync(Batch(user, "b", 1, [Sample()]), None).T30()).Committed().Accepted);
    }
}
