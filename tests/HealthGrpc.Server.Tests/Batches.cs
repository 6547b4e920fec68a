using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Tests;

/// <summary>Builders for the batches the tests send.</summary>
internal static class Batches
{
    public static readonly DateTimeOffset Origin = new(DateTime.UtcNow.Date.AddDays(-1), TimeSpan.Zero);

    public static ByteString Uuid(Guid guid) => SampleUuid.ToByteString(guid);

    public static DeviceIdentity Device(string id = "watch-1", ulong epoch = 1) => new() { DeviceId = id, Epoch = epoch };

    public static SampleSet HeartRateSet(IEnumerable<Guid> uuids, long firstOffsetMs = 0)
    {
        var set = new SampleSet
        {
            Type = DataType.HeartRate,
            Unit = "count/min",
            BaseTime = Timestamp.FromDateTimeOffset(Origin),
            Source = new Source { Kind = DeviceKind.Watch, Name = "Test Watch", Manufacturer = "Acme" },
        };
        var offset = firstOffsetMs;
        foreach (var uuid in uuids)
        {
            set.Samples.Add(new Sample { Uuid = Uuid(uuid), StartOffsetMs = offset, ScaledValue = 60 + (offset / 1000 % 40) });
            offset += 1000;
        }

        return set;
    }

    public static Batch HeartRate(ulong batchSeq, params Guid[] uuids) => new()
    {
        BatchSeq = batchSeq,
        SampleSets = { HeartRateSet(uuids) },
        Anchors = { new SourceAnchor { Type = DataType.HeartRate, Anchor = ByteString.CopyFromUtf8($"anchor-{batchSeq}") } },
    };

    public static Guid[] NewUuids(int count) => Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();

    public static UploadRequest Upload(Batch batch, DeviceIdentity? device = null) => new() { Device = device ?? Device(), Batch = batch };
}
