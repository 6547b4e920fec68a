using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using Grpc.Core;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// Issue 9 item 6, one input at a time: times that do not convert, overflow or lie outside the accepted range
/// (1970-01-01 .. server clock + 10 minutes) are rejected per item with a reason and a message naming the field; a
/// batch_seq of 0 is INVALID_ARGUMENT; none of them ends a call UNKNOWN or kills a Sync stream's pipelined acks.
/// </summary>
public sealed class TimeValidationTests : ServerTest
{
    private const long MaxTimestampSeconds = 253_402_300_799;
    private const long MinTimestampSeconds = -62_135_596_800;

    private Task<UploadResponse> UploadAsync(Batch batch, DeviceIdentity? device = null) =>
        Server.Client.UploadAsync(Upload(batch, device), SyncApi.As(Token)).Bounded();

    public static TheoryData<string, long, int> InvalidTimestamps() => new()
    {
        { "seconds after 9999-12-31", MaxTimestampSeconds + 1, 0 },
        { "seconds before 0001-01-01", MinTimestampSeconds - 1, 0 },
        { "seconds long.MaxValue", long.MaxValue, 0 },
        { "seconds long.MinValue", long.MinValue, 0 },
        { "negative nanos", 1_700_000_000, -1 },
        { "nanos of a whole second", 1_700_000_000, 1_000_000_000 },
        { "nanos int.MaxValue", 1_700_000_000, int.MaxValue },
    };

    /// <summary>Each timestamp field the server reads, with the item kind it rejects and the field named in the message.</summary>
    public static IEnumerable<object[]> FieldsAndTimestamps()
    {
        string[] fields = ["base_time", "series.start_time", "waveform.start_time", "deleted_time", "modified_time"];
        foreach (var field in fields)
        {
            foreach (var row in InvalidTimestamps())
            {
                yield return [field, row[0], row[1], row[2]];
            }
        }
    }

    [Theory]
    [MemberData(nameof(FieldsAndTimestamps))]
    public async Task An_invalid_timestamp_in_any_field_rejects_its_item_and_keeps_the_rest(string field, string what, long seconds, int nanos)
    {
        _ = what;
        var bad = new Timestamp { Seconds = seconds, Nanos = nanos };
        var batch = HeartRate(1, NewUuids(2));
        ItemKind kind;
        string named;
        switch (field)
        {
            case "base_time":
                batch.SampleSets.Add(new SampleSet { Type = DataType.HeartRate, BaseTime = bad, Samples = { new Sample { ScaledValue = 70 } } });
                (kind, named) = (ItemKind.Sample, "sample_sets[1].base_time");
                break;
            case "series.start_time":
                var series = GoodSeries();
                series.StartTime = bad;
                batch.Series.Add(series);
                (kind, named) = (ItemKind.Series, "series[0].start_time");
                break;
            case "waveform.start_time":
                var waveform = GoodWaveform();
                waveform.StartTime = bad;
                batch.Waveforms.Add(waveform);
                (kind, named) = (ItemKind.Waveform, "waveforms[0].start_time");
                break;
            case "deleted_time":
                batch.Deletions.Add(new Deletion { Uuid = Uuid(Guid.NewGuid()), DeletedTime = bad });
                (kind, named) = (ItemKind.Deletion, "deletions[0].deleted_time");
                break;
            default:
                batch.Records.Add(new Contracts.V1.Record { RecordType = "com.example/survey", RecordId = "r", Version = 1, ModifiedTime = bad });
                (kind, named) = (ItemKind.Record, "records[0].modified_time");
                break;
        }

        var ack = (await UploadAsync(batch)).Ack;

        Assert.Equal(AckOutcome.Committed, ack.Outcome);
        Assert.Equal(2u, ack.Accepted);
        var rejection = Assert.Single(ack.Rejections);
        Assert.Equal((kind, RejectReason.TimeOutOfRange), (rejection.Kind, rejection.Reason));
        Assert.Contains(named, rejection.Message, StringComparison.Ordinal);
        await AssertStoredTimesInRangeAsync();
    }

    public static TheoryData<long> WrappingOffsets() => new() { long.MaxValue, long.MinValue, long.MaxValue - 1, long.MinValue + 1 };

    [Theory]
    [MemberData(nameof(WrappingOffsets))]
    public async Task A_start_offset_that_overflows_is_rejected_not_wrapped(long offset)
    {
        var batch = HeartRate(1, NewUuids(1));
        batch.SampleSets[0].Samples.Add(new Sample { Uuid = Uuid(Guid.NewGuid()), StartOffsetMs = offset, ScaledValue = 70 });

        var ack = (await UploadAsync(batch)).Ack;

        Assert.Equal(1u, ack.Accepted);
        var rejection = Assert.Single(ack.Rejections);
        Assert.Equal(RejectReason.TimeOutOfRange, rejection.Reason);
        Assert.Contains("sample_sets[0].samples[1].start_offset_ms", rejection.Message, StringComparison.Ordinal);
        await AssertStoredTimesInRangeAsync();
    }

    [Fact]
    public async Task A_start_before_1970_and_an_end_after_the_skew_are_rejected()
    {
        var batch = HeartRate(1, NewUuids(1));
        var originMs = Origin.ToUnixTimeMilliseconds();
        batch.SampleSets[0].Samples.Add(new Sample { Uuid = Uuid(Guid.NewGuid()), StartOffsetMs = -originMs - 1, ScaledValue = 70 });
        batch.SampleSets[0].Samples.Add(new Sample { Uuid = Uuid(Guid.NewGuid()), DurationMs = (ulong)TimeSpan.FromDays(3).TotalMilliseconds, ScaledValue = 70 });
        batch.SampleSets[0].Samples.Add(new Sample { Uuid = Uuid(Guid.NewGuid()), DurationMs = ulong.MaxValue, ScaledValue = 70 });

        var ack = (await UploadAsync(batch)).Ack;

        Assert.Equal(1u, ack.Accepted);
        Assert.Equal(new uint[] { 1, 2, 3 }, ack.Rejections.Select(r => r.Index));
        Assert.All(ack.Rejections, r => Assert.Equal(RejectReason.TimeOutOfRange, r.Reason));
        Assert.Contains("1970-01-01", ack.Rejections[0].Message, StringComparison.Ordinal);
        Assert.Contains("duration_ms", ack.Rejections[1].Message, StringComparison.Ordinal);
        await AssertStoredTimesInRangeAsync();
    }

    [Fact]
    public async Task A_base_time_before_1970_is_a_valid_origin_when_the_samples_are_in_range()
    {
        var batch = HeartRate(1, NewUuids(1));
        batch.SampleSets[0].BaseTime = new Timestamp { Seconds = MinTimestampSeconds };
        batch.SampleSets[0].Samples[0].StartOffsetMs = (-MinTimestampSeconds * 1000) + Origin.ToUnixTimeMilliseconds();

        var ack = (await UploadAsync(batch)).Ack;

        Assert.Equal(1u, ack.Accepted);
        var stored = (await Server.Store.ReadChangesAsync("alice", 0, 10, CancellationToken.None).Bounded()).Changes.Single().Sample!;
        Assert.Equal(Origin.ToUnixTimeMilliseconds(), stored.StartUnixMs);
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue / 2)]
    public async Task A_series_time_delta_that_overflows_or_runs_past_the_skew_is_rejected(long delta)
    {
        var series = GoodSeries();
        series.IntervalMs = 0;
        series.TimeDeltasMs.Add([0, 1000, delta, delta, 1000]);
        var batch = HeartRate(1, NewUuids(1));
        batch.Series.Add(series);

        var ack = (await UploadAsync(batch)).Ack;

        var rejection = Assert.Single(ack.Rejections);
        Assert.Equal((ItemKind.Series, RejectReason.TimeOutOfRange), (rejection.Kind, rejection.Reason));
        Assert.Contains("series[0]", rejection.Message, StringComparison.Ordinal);
        Assert.Equal(0, await Server.Store.CountSeriesPointsAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task A_series_value_delta_that_overflows_is_rejected()
    {
        var series = GoodSeries();
        series.ValueDeltas[1] = long.MaxValue - 100;
        series.ValueDeltas[2] = long.MaxValue;
        var batch = HeartRate(1, NewUuids(1));
        batch.Series.Add(series);

        var ack = (await UploadAsync(batch)).Ack;

        var rejection = Assert.Single(ack.Rejections);
        Assert.Equal((ItemKind.Series, RejectReason.ValueOutOfRange), (rejection.Kind, rejection.Reason));
        Assert.Contains("value_deltas[2]", rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_series_time_delta_is_end_before_start()
    {
        var series = GoodSeries();
        series.IntervalMs = 0;
        series.TimeDeltasMs.Add([0, 1000, -1, 1000, 1000]);
        var batch = HeartRate(1, NewUuids(1));
        batch.Series.Add(series);

        var ack = (await UploadAsync(batch)).Ack;

        Assert.Equal(RejectReason.EndBeforeStart, Assert.Single(ack.Rejections).Reason);
    }

    [Fact]
    public async Task Batch_seq_zero_on_upload_is_invalid_argument_naming_the_field()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(HeartRate(0, NewUuids(1))));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("batch_seq", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(ErrorReason.ProtocolViolation, SyncApi.Detail(error).Reason);
        Assert.Equal(0, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task Batch_seq_zero_on_a_stream_is_refused_after_the_ack_of_the_good_batch_before_it()
    {
        var (stream, _) = await SyncStream.OpenAsync(Server.Client, Token, Device());
        using var _ = stream;
        await stream.SendAsync(HeartRate(1, NewUuids(2)));
        await stream.SendAsync(HeartRate(0, NewUuids(2)));

        Assert.Equal(1u, (await stream.ReadAckAsync()).BatchSeq);
        var error = await Assert.ThrowsAsync<RpcException>(stream.ReadAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("batch_seq", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(2, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task An_invalid_timestamp_on_a_stream_is_an_item_rejection_and_the_stream_goes_on()
    {
        var (stream, _) = await SyncStream.OpenAsync(Server.Client, Token, Device());
        using var _ = stream;
        var bad = HeartRate(2, NewUuids(2));
        bad.SampleSets[0].BaseTime = new Timestamp { Seconds = long.MaxValue };
        await stream.SendAsync(HeartRate(1, NewUuids(2)));
        await stream.SendAsync(bad);
        await stream.SendAsync(HeartRate(3, NewUuids(2)));

        var acks = new[] { await stream.ReadAckAsync(), await stream.ReadAckAsync(), await stream.ReadAckAsync() };
        await stream.CompleteAsync();

        Assert.Equal(new ulong[] { 1, 2, 3 }, acks.Select(a => a.BatchSeq));
        Assert.Equal(new uint[] { 2, 0, 2 }, acks.Select(a => a.Accepted));
        Assert.All(acks[1].Rejections, r => Assert.Equal(RejectReason.TimeOutOfRange, r.Reason));
        Assert.Null(await stream.ReadAsync());
        Assert.Equal(4, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    private async Task AssertStoredTimesInRangeAsync() =>
        await StoredTimes.AssertInRangeAsync(Server.Store, "alice", DateTimeOffset.UtcNow);

    internal static Series GoodSeries()
    {
        var series = new Series { Uuid = Uuid(Guid.NewGuid()), Type = DataType.HeartRate };
        var start = Origin.ToUnixTimeMilliseconds();
        SeriesColumns.Encode(series, Enumerable.Range(0, 5).Select(i => new SeriesPoint(start + (i * 1000L), 70 + i)).ToArray());
        return series;
    }

    internal static Waveform GoodWaveform() => new()
    {
        Uuid = Uuid(Guid.NewGuid()),
        Type = DataType.Ecg,
        Unit = "uV",
        StartTime = Timestamp.FromDateTimeOffset(Origin),
        SamplingFrequencyHz = 512,
        ChunkIndex = 0,
        ChunkCount = 1,
        VoltageDeltas = { 10, -3, 5 },
    };
}

/// <summary>Reads back everything the store holds for a user and checks every stored time against the accepted range.</summary>
internal static class StoredTimes
{
    public static async Task<int> AssertInRangeAsync(HealthGrpc.Storage.IHealthStore store, string user, DateTimeOffset now)
    {
        // The server's bound is its clock + 10 minutes; allow for the time the test took since.
        var latest = now.AddMinutes(11).ToUnixTimeMilliseconds();
        var after = 0L;
        var checkedItems = 0;
        while (true)
        {
            var page = await store.ReadChangesAsync(user, after, 500, CancellationToken.None).Bounded();
            foreach (var change in page.Changes)
            {
                var times = new List<(string What, long Ms)>();
                if (change.Sample is { } s)
                {
                    times.Add(("sample start", s.StartUnixMs));
                    times.Add(("sample end", s.EndUnixMs));
                    Assert.True(s.EndUnixMs >= s.StartUnixMs, $"sample {s.Uuid} ends before it starts");
                }

                if (change.Series is { } r)
                {
                    times.Add(("series start", r.StartUnixMs));
                    times.Add(("series end", r.EndUnixMs));
                }

                if (change.Waveform is { } w)
                {
                    times.Add(("waveform start", w.StartUnixMs));
                }

                if (change.Deletion is { } d)
                {
                    times.Add(("deleted time", d.DeletedUnixMs));
                }

                if (change.Record is { } doc)
                {
                    times.Add(("record modified time", doc.ModifiedUnixMs));
                }

                foreach (var (what, ms) in times)
                {
                    Assert.True(ms >= 0 && ms <= latest, $"change {change.Sequence}: {what} {ms} ms is outside 1970-01-01..now + skew");
                }

                checkedItems++;
                after = change.Sequence;
            }

            if (!page.HasMore)
            {
                return checkedItems;
            }
        }
    }
}
