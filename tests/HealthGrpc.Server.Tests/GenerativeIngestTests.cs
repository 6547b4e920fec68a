using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;
using Grpc.Core;
using Microsoft.FSharp.Core;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// Issue 9 item 6, generatively: random mutations of a valid batch (times, offsets, deltas, values, scales, ids, sizes,
/// batch_seq), each sent right behind a good batch, over unary Upload and over a Sync stream, to a real server. Whatever
/// the input: the call never ends UNKNOWN or INTERNAL, the good batch's ack always arrives before the call ends, and
/// everything stored lies in the accepted time range. Fixed seed, bounded cases; a failure prints the case.
/// </summary>
public sealed class GenerativeIngestTests : ServerTest
{
    private const int Cases = 100;

    // FsCheck replay seed: the same cases every run. Change it to explore; a failure names the failing case.
    private static readonly Replay FixedSeed = new(new Rnd(0x9E3779B97F4A7C15UL, 0xBF58476D1CE4E5B9UL), FSharpOption<int>.None);

    public enum Target
    {
        BaseTimeSeconds, BaseTimeNanos, SeriesStartSeconds, SeriesStartNanos, WaveformStartSeconds, WaveformStartNanos,
        DeletionTimeSeconds, DeletionTimeNanos, RecordTimeSeconds, RecordTimeNanos, StartOffset, Duration, SeriesTimeDelta,
        SeriesValueDelta, SeriesInterval, BatchSeq, ScaledValue, DoubleValue, DecimalExponent, ZoneOffset, Category,
        UuidLength, SetType, Frequency, ChunkIndex, RecordVersion, SyncVersion, VoltageDelta, MissingBaseTime,
    }

    public sealed record Mutation(Target Target, long Long, int Int, double Double)
    {
        public override string ToString() => $"{Target}(long {Long}, int {Int}, double {Double})";
    }

    public sealed record Case(bool OnStream, bool Atomic, Mutation[] Mutations)
    {
        public override string ToString() => $"{(OnStream ? "Sync" : "Upload")} atomic={Atomic} [{string.Join("; ", Mutations.Select(m => m.ToString()))}]";
    }

    private static readonly long[] EdgeLongs =
    [
        long.MinValue, long.MinValue + 1, long.MaxValue, long.MaxValue - 1, 0, 1, -1, 1L << 53, -(1L << 53), 1L << 62,
        253_402_300_799, 253_402_300_800, -62_135_596_800, -62_135_596_801, 253_402_300_799_999, 253_402_300_800_000,
        DateTimeOffset.UtcNow.ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), -Origin.ToUnixTimeMilliseconds() - 1,
        (long)TimeSpan.FromDays(2).TotalMilliseconds, uint.MaxValue,
    ];

    private static readonly int[] EdgeInts = [int.MinValue, int.MaxValue, -1, 0, 1, 16, 999_999_999, 1_000_000_000, -720, 841, 9, 10, -10];

    private static readonly double[] EdgeDoubles =
        [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0, -1, 72, 1e308, -1e308, double.Epsilon, 1e-300, 10_001];

    private static Gen<long> Longs() => Gen.Frequency(
        (3, Gen.Elements(EdgeLongs)),
        (1, Gen.Choose(int.MinValue, int.MaxValue).Select(i => (long)i)),
        (1, Gen.Choose(int.MinValue, int.MaxValue).Two().Select(t => ((long)t.Item1 << 32) | (uint)t.Item2)));

    private static Gen<int> Ints() => Gen.Frequency((3, Gen.Elements(EdgeInts)), (1, Gen.Choose(int.MinValue, int.MaxValue)));

    private static Gen<double> Doubles() => Gen.Frequency(
        (3, Gen.Elements(EdgeDoubles)),
        (1, Gen.Choose(int.MinValue, int.MaxValue).Select(i => i / 1000.0)));

    private static Arbitrary<Case> Cases_() =>
        (from onStream in Gen.Elements(true, false)
         from atomic in Gen.Elements(true, false, false)
         from count in Gen.Choose(1, 3)
         from mutations in (from target in Gen.Elements(System.Enum.GetValues<Target>())
                            from l in Longs()
                            from i in Ints()
                            from d in Doubles()
                            select new Mutation(target, l, i, d)).ArrayOf(count)
         select new Case(onStream, atomic, mutations)).ToArbitrary();

    [Fact]
    public async Task No_mutated_batch_breaks_a_call_loses_a_good_ack_or_stores_a_time_out_of_range()
    {
        var started = DateTimeOffset.UtcNow;
        var device = 0;
        var property = Prop.ForAll(Cases_(), c =>
        {
            var id = Interlocked.Increment(ref device);
            RunCaseAsync(c, Device($"gen-{id}")).GetAwaiter().GetResult();
        });
        var config = Config.QuickThrowOnFailure.WithMaxTest(Cases).WithReplay(FSharpOption<Replay>.Some(FixedSeed)).WithQuietOnSuccess(true);

        // Off the test's synchronization context: the property blocks on the calls it makes.
        await Task.Run(() => Check.One(config, property)).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(Cases, device);
        var stored = await StoredTimes.AssertInRangeAsync(Server.Store, "alice", started);
        Assert.True(stored > Cases, $"only {stored} changes stored: the good batches alone hold {Cases * 2} samples");
    }

    private async Task RunCaseAsync(Case c, DeviceIdentity device)
    {
        var good = GoodBatch(1);
        var mutated = GoodBatch(2);
        mutated.Atomic = c.Atomic;
        foreach (var mutation in c.Mutations)
        {
            Apply(mutated, mutation);
        }

        if (!c.OnStream)
        {
            var ack = (await Server.Client.UploadAsync(Upload(good, device), SyncApi.As(Token)).Bounded()).Ack;
            Assert.True(ack.Outcome == AckOutcome.Committed && ack.Rejected == 0, $"the good batch was not committed cleanly: {ack}");
            try
            {
                var second = (await Server.Client.UploadAsync(Upload(mutated, device), SyncApi.As(Token)).Bounded()).Ack;
                AssertAnswers(second, mutated);
            }
            catch (RpcException error)
            {
                AssertRefusal(error);
            }

            return;
        }

        var (stream, _) = await SyncStream.OpenAsync(Server.Client, Token, device);
        using var _ = stream;
        await stream.SendAsync(good);
        // The server may refuse the mutated batch (and end the call) while it is still being written.
        await Xunit.Record.ExceptionAsync(() => stream.SendAsync(mutated));
        await Xunit.Record.ExceptionAsync(stream.CompleteAsync);

        SyncResponse? first;
        try
        {
            first = await stream.ReadAsync();
        }
        catch (RpcException error)
        {
            throw new Xunit.Sdk.XunitException($"the call ended {error.StatusCode} ({error.Status.Detail}) before the good batch's ack");
        }

        Assert.True(first?.Ack is { BatchSeq: 1, Outcome: AckOutcome.Committed }, $"first response is not the good batch's ack: {first}");
        try
        {
            if (await stream.ReadAsync() is { } second)
            {
                Assert.NotNull(second.Ack);
                AssertAnswers(second.Ack, mutated);
                Assert.Null(await stream.ReadAsync());
            }
        }
        catch (RpcException error)
        {
            AssertRefusal(error);
        }
    }

    private static void AssertAnswers(Ack ack, Batch batch)
    {
        Assert.Equal(batch.BatchSeq, ack.BatchSeq);
        Assert.Equal((int)ack.Rejected, ack.Rejections.Count);
        Assert.All(ack.Rejections, r => Assert.NotEqual(RejectReason.Unspecified, r.Reason));
    }

    private static void AssertRefusal(RpcException error)
    {
        Assert.True(
            error.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted,
            $"refused with {error.StatusCode}: {error.Status.Detail}");
        Assert.NotEqual(ErrorReason.Unspecified, SyncApi.Detail(error).Reason);
    }

    private static Batch GoodBatch(ulong seq)
    {
        var batch = HeartRate(seq, NewUuids(2));
        batch.Series.Add(TimeValidationTests.GoodSeries());
        batch.Waveforms.Add(TimeValidationTests.GoodWaveform());
        batch.Deletions.Add(new Deletion { Uuid = Uuid(Guid.NewGuid()), DeletedTime = Timestamp.FromDateTimeOffset(Origin) });
        batch.Records.Add(new Contracts.V1.Record
        {
            RecordType = "com.example/survey",
            RecordId = Guid.NewGuid().ToString(),
            Version = 1,
            ContentType = "application/json",
            Payload = ByteString.CopyFromUtf8("{}"),
            ModifiedTime = Timestamp.FromDateTimeOffset(Origin),
        });
        return batch;
    }

    private static void Apply(Batch batch, Mutation m)
    {
        var set = batch.SampleSets[0];
        var series = batch.Series[0];
        var waveform = batch.Waveforms[0];
        var points = series.ValueDeltas.Count;
        switch (m.Target)
        {
            case Target.BaseTimeSeconds: set.BaseTime = new Timestamp { Seconds = m.Long, Nanos = set.BaseTime?.Nanos ?? 0 }; break;
            case Target.BaseTimeNanos: (set.BaseTime ??= new Timestamp()).Nanos = m.Int; break;
            case Target.SeriesStartSeconds: series.StartTime = new Timestamp { Seconds = m.Long }; break;
            case Target.SeriesStartNanos: series.StartTime.Nanos = m.Int; break;
            case Target.WaveformStartSeconds: waveform.StartTime = new Timestamp { Seconds = m.Long }; break;
            case Target.WaveformStartNanos: waveform.StartTime.Nanos = m.Int; break;
            case Target.DeletionTimeSeconds: batch.Deletions[0].DeletedTime = new Timestamp { Seconds = m.Long }; break;
            case Target.DeletionTimeNanos: batch.Deletions[0].DeletedTime.Nanos = m.Int; break;
            case Target.RecordTimeSeconds: batch.Records[0].ModifiedTime = new Timestamp { Seconds = m.Long }; break;
            case Target.RecordTimeNanos: batch.Records[0].ModifiedTime.Nanos = m.Int; break;
            case Target.StartOffset: set.Samples[0].StartOffsetMs = m.Long; break;
            case Target.Duration: set.Samples[1].DurationMs = unchecked((ulong)m.Long); break;
            case Target.SeriesTimeDelta:
                if (series.TimeDeltasMs.Count == 0)
                {
                    series.TimeDeltasMs.Add(Enumerable.Range(0, points).Select(i => i == 0 ? 0L : series.IntervalMs));
                    series.IntervalMs = 0;
                }

                series.TimeDeltasMs[(int)((uint)m.Int % points)] = m.Long;
                break;
            case Target.SeriesValueDelta: series.ValueDeltas[(int)((uint)m.Int % points)] = m.Long; break;
            case Target.SeriesInterval: series.IntervalMs = unchecked((uint)m.Int); break;
            case Target.BatchSeq: batch.BatchSeq = m.Int % 3 == 0 ? 0 : unchecked((ulong)m.Long); break;
            case Target.ScaledValue: set.Samples[1].ScaledValue = m.Long; break;
            case Target.DoubleValue: set.Samples[1].DoubleValue = m.Double; break;
            case Target.DecimalExponent: set.DecimalExponent = m.Int; break;
            case Target.ZoneOffset: set.ZoneOffsetMinutes = m.Int; break;
            case Target.Category: set.Samples[0].Category = m.Int; break;
            case Target.UuidLength: set.Samples[0].Uuid = ByteString.CopyFrom(new byte[(uint)m.Int % 40]); break;
            case Target.SetType: set.Type = (DataType)m.Int; break;
            case Target.Frequency: waveform.SamplingFrequencyHz = m.Double; break;
            case Target.ChunkIndex: waveform.ChunkIndex = unchecked((uint)m.Int); break;
            case Target.RecordVersion: batch.Records[0].Version = unchecked((ulong)m.Long); break;
            case Target.SyncVersion:
                set.Samples[0].SyncIdentifier = "sync-" + (m.Int % 4);
                set.Samples[0].SyncVersion = unchecked((ulong)m.Long);
                break;
            case Target.VoltageDelta: waveform.VoltageDeltas[(int)((uint)m.Int % waveform.VoltageDeltas.Count)] = unchecked((int)m.Long); break;
            case Target.MissingBaseTime: set.BaseTime = null; break;
            default: throw new ArgumentOutOfRangeException(nameof(m));
        }
    }
}
