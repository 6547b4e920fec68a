using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Tests.Infrastructure;

/// <summary>Small heart-rate batches: enough to prove a call was authenticated and committed.</summary>
internal static class Batches
{
    private static readonly DateTimeOffset Origin = new(DateTime.UtcNow.Date.AddDays(-1), TimeSpan.Zero);

    public static DeviceIdentity Device { get; } = new() { DeviceId = "watch-1", Epoch = 1 };

    public static Batch HeartRate(ulong batchSeq, int samples = 3)
    {
        var set = new SampleSet
        {
            Type = DataType.HeartRate,
            Unit = "count/min",
            BaseTime = Timestamp.FromDateTimeOffset(Origin.AddMinutes((double)batchSeq)),
            Source = new Source { Kind = DeviceKind.Watch, Name = "Test Watch", Manufacturer = "Acme" },
        };
        for (var i = 0; i < samples; i++)
        {
            set.Samples.Add(new Sample { Uuid = SampleUuid.ToByteString(Guid.NewGuid()), StartOffsetMs = i * 1000, ScaledValue = 60 + i });
        }

        return new Batch { BatchSeq = batchSeq, SampleSets = { set } };
    }

    public static UploadRequest Upload(ulong batchSeq) => new() { Device = Device, Batch = HeartRate(batchSeq) };

    public static SyncRequest Hello() => new() { Hello = new Hello { Device = Device, SdkVersion = "cli-tests/1.0" } };

    public static SyncRequest Sync(ulong batchSeq) => new() { Batch = HeartRate(batchSeq) };
}
