using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Contracts.Tests;

/// <summary>
/// Deterministic messages that stand for what clients really send. Their encodings are checked in under
/// Golden/, so a contract change that alters the wire fails a test instead of silently breaking vendors.
/// </summary>
internal static class RepresentativeBatches
{
    private static readonly DateTimeOffset Origin = new(2026, 3, 14, 6, 30, 0, TimeSpan.Zero);

    public static Source Watch() => new()
    {
        Kind = DeviceKind.Watch,
        Name = "Alice's Watch",
        Manufacturer = "Apple",
        Model = "Watch7,1",
        SoftwareVersion = "11.2",
        AppId = "com.apple.health",
    };

    /// <summary>A uuid that depends only on <paramref name="n"/>: golden bytes must not change between runs.</summary>
    public static ByteString Uuid(int n)
    {
        var bytes = new byte[SampleUuid.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), n);
        bytes[6] = 0x40; // version 4 nibble, as a real client would send
        bytes[8] = 0x80; // RFC variant
        bytes[15] = (byte)(n * 31);
        return ByteString.CopyFrom(bytes);
    }

    /// <summary>1 Hz heart rate from a watch as discrete samples, a realistic random walk around 70 bpm.</summary>
    public static Batch DiscreteHeartRate(int samples, ulong batchSeq = 1)
    {
        var set = new SampleSet
        {
            Type = DataType.HeartRate,
            Unit = "count/min",
            Source = Watch(),
            BaseTime = Timestamp.FromDateTimeOffset(Origin),
            ZoneOffsetMinutes = 60,
        };
        var random = new Random(42);
        var bpm = 70L;
        for (var i = 0; i < samples; i++)
        {
            bpm = Math.Clamp(bpm + random.Next(-2, 3), 50, 180);
            set.Samples.Add(new Sample { Uuid = Uuid(i), StartOffsetMs = i * 1000L, ScaledValue = bpm });
        }

        var batch = new Batch { BatchSeq = batchSeq, Priority = Priority.Batch };
        batch.SampleSets.Add(set);
        batch.Anchors.Add(new SourceAnchor { Type = DataType.HeartRate, Anchor = ByteString.CopyFromUtf8("hk-anchor-000123") });
        return batch;
    }

    /// <summary>One hour of 1 Hz heart rate as a series.</summary>
    public static Series HeartRateSeries(int points)
    {
        var random = new Random(7);
        var values = new SeriesPoint[points];
        var bpm = 70L;
        var start = Origin.ToUnixTimeMilliseconds();
        for (var i = 0; i < points; i++)
        {
            bpm = Math.Clamp(bpm + random.Next(-2, 3), 50, 180);
            values[i] = new SeriesPoint(start + (i * 1000L), bpm);
        }

        var series = new Series
        {
            Uuid = Uuid(1_000_000),
            Type = DataType.HeartRate,
            Unit = "count/min",
            Source = Watch(),
            ZoneOffsetMinutes = 60,
        };
        SeriesColumns.Encode(series, values);
        return series;
    }

    /// <summary>A batch with every kind of item, the way a daily catch-up looks.</summary>
    public static Batch Mixed()
    {
        var batch = DiscreteHeartRate(3, batchSeq: 7);
        batch.Atomic = true;
        batch.Priority = Priority.CatchUp;

        var steps = new SampleSet
        {
            Type = DataType.Steps,
            Source = new Source { Kind = DeviceKind.Phone, Name = "iPhone", Manufacturer = "Apple", Model = "iPhone16,2" },
            BaseTime = Timestamp.FromDateTimeOffset(Origin),
        };
        steps.Samples.Add(new Sample { StartOffsetMs = 0, DurationMs = 600_000, ScaledValue = 812 });
        batch.SampleSets.Add(steps);

        var mass = new SampleSet
        {
            Type = DataType.BodyMass,
            Unit = "kg",
            DecimalExponent = -1,
            Source = new Source { Kind = DeviceKind.Scale, Manufacturer = "Withings", Model = "Body+" },
            BaseTime = Timestamp.FromDateTimeOffset(Origin),
        };
        mass.Samples.Add(new Sample
        {
            Uuid = Uuid(9001),
            ScaledValue = 724,
            SyncIdentifier = "withings:weigh-in:88812",
            SyncVersion = 2,
            Metadata = { ["HKWasUserEntered"] = "0" },
        });
        batch.SampleSets.Add(mass);

        var sleep = new SampleSet
        {
            Type = DataType.SleepAnalysis,
            Source = Watch(),
            BaseTime = Timestamp.FromDateTimeOffset(Origin.AddHours(-7)),
        };
        sleep.Samples.Add(new Sample { Uuid = Uuid(9002), DurationMs = 5_400_000, Category = (int)SleepStage.Deep });
        batch.SampleSets.Add(sleep);

        var vendor = new SampleSet
        {
            Type = DataType.Vendor,
            VendorType = "com.example/skin_temperature",
            Unit = "degC",
            Source = new Source { Kind = DeviceKind.Wearable, Manufacturer = "Oura" },
            BaseTime = Timestamp.FromDateTimeOffset(Origin),
        };
        vendor.Samples.Add(new Sample { Uuid = Uuid(9003), DoubleValue = 36.61 });
        batch.SampleSets.Add(vendor);

        batch.Series.Add(HeartRateSeries(5));
        batch.Waveforms.Add(new Waveform
        {
            Uuid = Uuid(9004),
            Type = DataType.Ecg,
            Source = Watch(),
            StartTime = Timestamp.FromDateTimeOffset(Origin),
            SamplingFrequencyHz = 512,
            Lead = EcgLead.AppleWatchSimilarToLeadI,
            Unit = "uV",
            ChunkIndex = 0,
            ChunkCount = 1,
            VoltageDeltas = { 12, -3, 40, -38, 2 },
        });
        batch.Deletions.Add(new Deletion { Uuid = Uuid(42), DeletedTime = Timestamp.FromDateTimeOffset(Origin.AddMinutes(5)) });
        batch.Records.Add(new V1.Record
        {
            RecordType = "com.example/survey",
            RecordId = "phq9-2026-03-14",
            Version = 3,
            ContentType = "application/json",
            Payload = ByteString.CopyFromUtf8("{\"score\":4}"),
            ModifiedTime = Timestamp.FromDateTimeOffset(Origin),
        });
        return batch;
    }

    /// <summary>An ack for a partially rejected batch.</summary>
    public static Ack PartialAck() => new()
    {
        BatchSeq = 7,
        Outcome = AckOutcome.Committed,
        Accepted = 998,
        Duplicates = 1,
        Rejected = 1,
        Rejections =
        {
            new Rejection
            {
                Kind = ItemKind.Sample,
                Index = 12,
                Reason = RejectReason.ValueOutOfRange,
                Message = "heart rate 412 count/min is outside 20..300",
            },
        },
        CommittedAnchors = { new SourceAnchor { Type = DataType.HeartRate, Anchor = ByteString.CopyFromUtf8("hk-anchor-000123") } },
        HighWaterMark = 7,
        CommitTime = Timestamp.FromDateTimeOffset(Origin.AddSeconds(2)),
        ChangeToken = "c1.4711",
    };

    /// <summary>Every golden fixture by file name.</summary>
    public static IReadOnlyDictionary<string, IMessage> All() => new Dictionary<string, IMessage>
    {
        ["sync_request_hello.bin"] = new SyncRequest
        {
            Hello = new Hello { Device = new DeviceIdentity { DeviceId = "3f1c9a2e-watch", Epoch = 2 }, SdkVersion = "healthgrpc-dotnet/1.0.0" },
        },
        ["sync_response_welcome.bin"] = new SyncResponse
        {
            Welcome = new Welcome
            {
                HighWaterMark = 41,
                Limits = new Limits { MaxSamplesPerBatch = 10_000, MaxBatchesInFlight = 8, MaxMessageBytes = 4 << 20, MaxPointsPerSeries = 100_000 },
                ServerTime = Timestamp.FromDateTimeOffset(Origin),
            },
        },
        ["batch_heart_rate_1000.bin"] = DiscreteHeartRate(1000),
        ["batch_mixed.bin"] = Mixed(),
        ["ack_partial.bin"] = new SyncResponse { Ack = PartialAck() },
        ["error_detail_gap.bin"] = new ErrorDetail { Reason = ErrorReason.SequenceGap, HighWaterMark = 41 },
    };
}
