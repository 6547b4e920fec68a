using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;
using Grpc.Core;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>Exactly-once semantics (ARCHITECTURE.md guarantees 2–4) over real Upload calls.</summary>
public sealed class UploadSemanticsTests : ServerTest
{
    private Task<UploadResponse> UploadAsync(Batch batch, DeviceIdentity? device = null, string? token = null) =>
        Server.Client.UploadAsync(Upload(batch, device), SyncApi.As(token ?? Token)).Bounded();

    private Task<long> StoredSamplesAsync(string user = "alice") => Server.Store.CountSamplesAsync(user, CancellationToken.None).Bounded();

    [Fact]
    public async Task Duplicates_inside_one_batch_are_stored_once()
    {
        var uuid = Guid.NewGuid();
        var response = await UploadAsync(HeartRate(1, uuid, uuid, Guid.NewGuid()));

        Assert.Equal(AckOutcome.Committed, response.Ack.Outcome);
        Assert.Equal(2u, response.Ack.Accepted);
        Assert.Equal(1u, response.Ack.Duplicates);
        Assert.Equal(2, await StoredSamplesAsync());
    }

    [Fact]
    public async Task Duplicates_across_batches_and_devices_of_one_user_are_stored_once()
    {
        var uuids = NewUuids(10);
        await UploadAsync(HeartRate(1, uuids));
        var again = await UploadAsync(HeartRate(2, uuids));
        var otherDevice = await UploadAsync(HeartRate(1, uuids), Device("phone-1"));

        Assert.Equal(0u, again.Ack.Accepted);
        Assert.Equal(10u, again.Ack.Duplicates);
        Assert.Equal(10u, otherDevice.Ack.Duplicates);
        Assert.Equal(10, await StoredSamplesAsync());
    }

    [Fact]
    public async Task A_replayed_batch_seq_gets_the_original_ack_flagged_duplicate()
    {
        var batch = HeartRate(1, NewUuids(5));
        var first = await UploadAsync(batch);
        await UploadAsync(HeartRate(2, NewUuids(1)));

        var replay = await UploadAsync(batch); // the ack of the first attempt was "lost"

        Assert.Equal(AckOutcome.Duplicate, replay.Ack.Outcome);
        Assert.Equal(first.Ack.Accepted, replay.Ack.Accepted);
        Assert.Equal(first.Ack.CommittedAnchors, replay.Ack.CommittedAnchors);
        Assert.Equal(2u, replay.Ack.HighWaterMark);
        Assert.Equal(6, await StoredSamplesAsync());
    }

    [Fact]
    public async Task A_gap_is_refused_with_the_high_water_mark()
    {
        await UploadAsync(HeartRate(1, NewUuids(1)));

        var error = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(HeartRate(3, NewUuids(1))));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        var detail = SyncApi.Detail(error);
        Assert.Equal(ErrorReason.SequenceGap, detail.Reason);
        Assert.Equal(1u, detail.HighWaterMark);
        Assert.Equal(1, await StoredSamplesAsync());
    }

    [Fact]
    public async Task A_newer_epoch_fences_the_older_one()
    {
        await UploadAsync(HeartRate(1, NewUuids(1)), Device(epoch: 1));
        var newer = await UploadAsync(HeartRate(1, NewUuids(1)), Device(epoch: 2));

        var error = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(HeartRate(2, NewUuids(1)), Device(epoch: 1)));

        Assert.Equal(AckOutcome.Committed, newer.Ack.Outcome);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        var detail = SyncApi.Detail(error);
        Assert.Equal(ErrorReason.EpochFenced, detail.Reason);
        Assert.Equal(2u, detail.CurrentEpoch);
        Assert.Equal(2, await StoredSamplesAsync());
    }

    [Fact]
    public async Task A_tombstone_wins_over_a_later_re_upload()
    {
        var uuid = Guid.NewGuid();
        await UploadAsync(HeartRate(1, uuid));
        var deletion = await UploadAsync(new Batch { BatchSeq = 2, Deletions = { new Deletion { Uuid = Uuid(uuid) } } });
        var reupload = await UploadAsync(HeartRate(3, uuid));

        Assert.Equal(1u, deletion.Ack.Accepted);
        Assert.Equal(0u, reupload.Ack.Accepted);
        Assert.Equal(1u, reupload.Ack.IgnoredDeleted);
        Assert.Equal(0, await StoredSamplesAsync());
    }

    [Fact]
    public async Task A_tombstone_that_arrives_before_its_sample_still_wins()
    {
        var uuid = Guid.NewGuid();
        await UploadAsync(new Batch { BatchSeq = 1, Deletions = { new Deletion { Uuid = Uuid(uuid) } } });
        var late = await UploadAsync(HeartRate(2, uuid));

        Assert.Equal(1u, late.Ack.IgnoredDeleted);
        Assert.Equal(0, await StoredSamplesAsync());
    }

    [Fact]
    public async Task A_higher_sync_version_replaces_and_a_lower_one_is_a_duplicate()
    {
        Batch Weigh(ulong seq, ulong version, long grams) => new()
        {
            BatchSeq = seq,
            SampleSets =
            {
                new SampleSet
                {
                    Type = DataType.BodyMass,
                    Unit = "g",
                    BaseTime = Timestamp.FromDateTimeOffset(Origin),
                    Samples = { new Sample { Uuid = Uuid(Guid.NewGuid()), ScaledValue = grams, SyncIdentifier = "scale:weigh-in:1", SyncVersion = version } },
                },
            },
        };

        var first = await UploadAsync(Weigh(1, 1, 72_400));
        var newer = await UploadAsync(Weigh(2, 2, 72_100));
        var stale = await UploadAsync(Weigh(3, 1, 99_000));

        Assert.Equal(1u, first.Ack.Accepted);
        Assert.Equal(1u, newer.Ack.Replaced);
        Assert.Equal(1u, stale.Ack.Duplicates);
        Assert.Equal(1, await StoredSamplesAsync());
        var changes = await Server.Store.ReadChangesAsync("alice", 0, 100, CancellationToken.None).Bounded();
        var latest = changes.Changes.Last(c => c.Sample is not null).Sample!;
        Assert.Equal(72.1, latest.Quantity!.Value, 6);
        Assert.Equal("kg", latest.Unit);
    }

    [Fact]
    public async Task Samples_without_a_uuid_get_a_content_id_so_a_resent_day_does_not_duplicate()
    {
        Batch Day(ulong seq)
        {
            var set = HeartRateSet([Guid.Empty, Guid.Empty, Guid.Empty]);
            foreach (var sample in set.Samples)
            {
                sample.Uuid = ByteString.Empty;
            }

            return new Batch { BatchSeq = seq, SampleSets = { set } };
        }

        var first = await UploadAsync(Day(1));
        var resent = await UploadAsync(Day(2));

        Assert.Equal(3u, first.Ack.Accepted);
        Assert.Equal(3u, resent.Ack.Duplicates);
        Assert.Equal(3, await StoredSamplesAsync());
    }

    [Fact]
    public async Task Anchors_are_committed_with_the_batch_and_returned_by_GetCheckpoint()
    {
        await UploadAsync(HeartRate(1, NewUuids(1)));
        await UploadAsync(HeartRate(2, NewUuids(1)));

        var checkpoint = await Server.Client.GetCheckpointAsync(new GetCheckpointRequest { DeviceId = "watch-1" }, SyncApi.As(Token)).Bounded();

        Assert.Equal(2u, checkpoint.HighWaterMark);
        Assert.Equal(1u, checkpoint.Device.Epoch);
        var anchor = Assert.Single(checkpoint.Anchors);
        Assert.Equal("anchor-2", anchor.Anchor.ToStringUtf8());
    }

    [Fact]
    public async Task Another_user_can_neither_write_into_nor_read_a_users_data()
    {
        var uuid = Guid.NewGuid();
        var bob = await Server.CreateUserAsync("bob");
        await UploadAsync(HeartRate(1, uuid));

        var bobsUpload = await UploadAsync(HeartRate(1, uuid), Device("bobs-watch"), token: bob);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Server.Client.GetCheckpointAsync(new GetCheckpointRequest { DeviceId = "watch-1" }, SyncApi.As(bob)).Bounded());

        Assert.Equal(1u, bobsUpload.Ack.Accepted); // the same uuid is bob's own sample, not alice's
        Assert.Equal(StatusCode.NotFound, error.StatusCode); // alice's device does not exist for bob
        Assert.Equal(1, await StoredSamplesAsync("alice"));
        Assert.Equal(1, await StoredSamplesAsync("bob"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer hgt_not-a-real-token")]
    [InlineData("Basic YWxpY2U6c2VjcmV0")]
    public async Task Missing_or_unknownTokens_are_unauthenticated(string? authorization)
    {
        var headers = new Metadata();
        if (authorization is not null)
        {
            headers.Add("authorization", authorization);
        }

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Server.Client.UploadAsync(Upload(HeartRate(1, NewUuids(1))), new CallOptions(headers)).Bounded());

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(0, await StoredSamplesAsync());
    }

    [Fact]
    public async Task A_batch_over_the_sample_limit_is_resource_exhausted()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(HeartRate(1, NewUuids(10_001))));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal(ErrorReason.BatchTooLarge, SyncApi.Detail(error).Reason);
    }

    [Fact]
    public async Task A_message_over_max_message_bytes_is_resource_exhausted_and_stores_nothing()
    {
        var batch = HeartRate(1, NewUuids(1));
        batch.Records.Add(new Contracts.V1.Record
        {
            RecordType = "com.example/blob",
            RecordId = "big",
            Version = 1,
            Payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]),
        });

        var error = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(batch));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal(0, await StoredSamplesAsync());
    }
}
