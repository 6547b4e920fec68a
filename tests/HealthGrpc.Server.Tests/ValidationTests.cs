using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>Each reject reason, in a partial batch (valid items kept) and an atomic one (nothing kept, anchors not moved).</summary>
public sealed class ValidationTests : ServerTest
{
    /// <summary>A batch with two valid heart-rate samples and one invalid item of the given reason.</summary>
    private static Batch WithInvalidItem(RejectReason reason, out ItemKind kind)
    {
        var batch = HeartRate(1, NewUuids(2));
        kind = ItemKind.Sample;
        var bad = new SampleSet { Type = DataType.HeartRate, BaseTime = Timestamp.FromDateTimeOffset(Origin) };
        var sample = new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), ScaledValue = 70 };
        bad.Samples.Add(sample);
        switch (reason)
        {
            case RejectReason.UnknownType: bad.Type = (DataType)77; break;
            case RejectReason.UnitNotConvertible: bad.Unit = "kg"; break;
            case RejectReason.NonFiniteValue: sample.DoubleValue = double.NaN; break;
            case RejectReason.ValueOutOfRange: sample.ScaledValue = 412; break;
            case RejectReason.StartInFuture: sample.StartOffsetMs = (long)TimeSpan.FromDays(3).TotalMilliseconds; break;
            case RejectReason.MalformedUuid: sample.Uuid = ByteString.CopyFrom(1, 2, 3); break;
            case RejectReason.MissingValue: sample.ClearValue(); break;
            case RejectReason.InvalidScale: bad.DecimalExponent = 12; break;
            case RejectReason.FieldTooLarge: sample.SyncIdentifier = new string('x', 300); break;
            case RejectReason.MissingTime: bad.BaseTime = null; break;
            case RejectReason.TimeOutOfRange: sample.StartOffsetMs = long.MinValue; break;
            case RejectReason.OversizeSeries:
                kind = ItemKind.Series;
                batch.Series.Add(Series(100_001));
                return batch;
            case RejectReason.MalformedSeries:
                kind = ItemKind.Series;
                var malformed = Series(3);
                malformed.IntervalMs = 0;
                batch.Series.Add(malformed);
                return batch;
            case RejectReason.EndBeforeStart:
                kind = ItemKind.Series;
                var backwards = Series(3);
                backwards.IntervalMs = 0;
                backwards.TimeDeltasMs.Add([0, 1000, -5000]);
                batch.Series.Add(backwards);
                return batch;
            case RejectReason.OversizeWaveform:
                kind = ItemKind.Waveform;
                batch.Waveforms.Add(new Waveform
                {
                    Uuid = SampleUuid.ToByteString(Guid.NewGuid()),
                    Type = DataType.Ecg,
                    StartTime = Timestamp.FromDateTimeOffset(Origin),
                    SamplingFrequencyHz = 512,
                    ChunkIndex = 2,
                    ChunkCount = 1,
                    VoltageDeltas = { 1, 2, 3 },
                });
                return batch;
            case RejectReason.InvalidRecord:
                kind = ItemKind.Record;
                batch.Records.Add(new Contracts.V1.Record { RecordType = "com.example/survey", RecordId = "a", Version = 0 });
                return batch;
            default: throw new ArgumentOutOfRangeException(nameof(reason));
        }

        batch.SampleSets.Add(bad);
        return batch;
    }

    private static Series Series(int points)
    {
        var series = new Series { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), Type = DataType.HeartRate };
        var start = Origin.ToUnixTimeMilliseconds();
        SeriesColumns.Encode(series, Enumerable.Range(0, points).Select(i => new SeriesPoint(start + (i * 1000L), 70)).ToArray());
        return series;
    }

    public static TheoryData<RejectReason> Reasons() => new(System.Enum.GetValues<RejectReason>().Where(r => r != RejectReason.Unspecified));

    [Theory]
    [MemberData(nameof(Reasons))]
    public async Task A_partial_batch_keeps_valid_items_and_reports_the_invalid_one(RejectReason reason)
    {
        var batch = WithInvalidItem(reason, out var kind);

        var ack = (await Server.Client.UploadAsync(Upload(batch), SyncApi.As(Token)).Bounded()).Ack;

        Assert.Equal(AckOutcome.Committed, ack.Outcome);
        Assert.Equal(2u, ack.Accepted);
        Assert.Equal(1u, ack.Rejected);
        var rejection = Assert.Single(ack.Rejections);
        Assert.Equal(reason, rejection.Reason);
        Assert.Equal(kind, rejection.Kind);
        Assert.False(string.IsNullOrWhiteSpace(rejection.Message));
        Assert.Equal(2, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
        Assert.Single(ack.CommittedAnchors);
    }

    [Theory]
    [MemberData(nameof(Reasons))]
    public async Task An_atomic_batch_with_one_invalid_item_stores_nothing_and_keeps_its_anchors_uncommitted(RejectReason reason)
    {
        var batch = WithInvalidItem(reason, out _);
        batch.Atomic = true;

        var ack = (await Server.Client.UploadAsync(Upload(batch), SyncApi.As(Token)).Bounded()).Ack;

        Assert.Equal(AckOutcome.Rejected, ack.Outcome);
        Assert.Equal(0u, ack.Accepted);
        Assert.Equal(reason, Assert.Single(ack.Rejections).Reason);
        Assert.Empty(ack.CommittedAnchors);
        Assert.Equal(1u, ack.HighWaterMark); // the batch_seq is consumed so the client moves on
        Assert.Equal(0, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task Units_are_normalized_to_the_canonical_unit()
    {
        var batch = new Batch
        {
            BatchSeq = 1,
            SampleSets =
            {
                new SampleSet
                {
                    Type = DataType.BloodGlucose,
                    Unit = "mmol/L",
                    DecimalExponent = -1,
                    BaseTime = Timestamp.FromDateTimeOffset(Origin),
                    Samples = { new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), ScaledValue = 54 } },
                },
            },
        };

        await Server.Client.UploadAsync(Upload(batch), SyncApi.As(Token)).Bounded();

        var stored = (await Server.Store.ReadChangesAsync("alice", 0, 10, CancellationToken.None).Bounded()).Changes.Single().Sample!;
        Assert.Equal("mg/dL", stored.Unit);
        Assert.Equal(5.4 * 18.0156, stored.Quantity!.Value, 6);
    }
}
