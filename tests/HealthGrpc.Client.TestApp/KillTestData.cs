using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client.TestApp;

/// <summary>Deterministic samples: set n holds samples n*100 .. n*100+99, whose uuids derive from their index.</summary>
public static class KillTestData
{
    public const int SamplesPerSet = 100;

    public static Guid Uuid(int sample)
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, sample);
        bytes[6] = 0x40;
        bytes[8] = 0x80;
        bytes[15] = 0x5a;
        return new Guid(bytes, bigEndian: true);
    }

    public static SampleSet Set(int set)
    {
        // 30 days back leaves room for 2.5M one-second samples before "now": none may start in the future.
        var origin = DateTimeOffset.UtcNow.Date.AddDays(-30);
        var samples = new SampleSet
        {
            Type = DataType.HeartRate,
            Source = new Source { Kind = DeviceKind.Wearable, Name = "strap" },
            BaseTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(origin, TimeSpan.Zero)),
        };
        for (var i = 0; i < SamplesPerSet; i++)
        {
            var sample = (set * SamplesPerSet) + i;
            samples.Samples.Add(new Sample { Uuid = HealthGrpc.Contracts.SampleUuid.ToByteString(Uuid(sample)), StartOffsetMs = sample * 1000L, ScaledValue = 60 + (sample % 40) });
        }

        return samples;
    }
}
