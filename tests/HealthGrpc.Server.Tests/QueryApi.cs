using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Tests;

/// <summary>A sample a query test uploads, with what the test expects to read back.</summary>
internal sealed record TestSample(Guid Uuid, DataType Type, Source Source, long StartMs, long DurationMs, long Value)
{
    public byte[] UuidBytes => Uuid.ToByteArray(bigEndian: true);
}

/// <summary>The generated QueryService client and batches of <see cref="TestSample"/>s, as a backend would use them.</summary>
internal static class QueryApi
{
    public static readonly Source Watch = new() { Kind = DeviceKind.Watch, Name = "Watch", Manufacturer = "Acme" };
    public static readonly Source OtherWatch = new() { Kind = DeviceKind.Watch, Name = "Second watch", Manufacturer = "Acme" };
    public static readonly Source Phone = new() { Kind = DeviceKind.Phone, Name = "Phone", Manufacturer = "Acme" };
    public static readonly Source Strap = new() { Kind = DeviceKind.Wearable, Name = "Strap", Manufacturer = "Polar" };
    public static readonly Source Scale = new() { Kind = DeviceKind.Scale, Name = "Scale" };
    public static readonly Source Manual = new() { Kind = DeviceKind.Manual, Name = "Me" };

    public static QueryService.QueryServiceClient Query(this TestServer server) => new(server.Channel);

    public static Timestamp Time(long unixMs) => Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(unixMs));

    public static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    /// <summary>One batch: a SampleSet per (type, source), each sample with its own uuid.</summary>
    public static Batch Batch(ulong batchSeq, IEnumerable<TestSample> samples)
    {
        var batch = new Batch { BatchSeq = batchSeq };
        foreach (var group in samples.GroupBy(s => (s.Type, s.Source)))
        {
            var baseMs = group.Min(s => s.StartMs);
            var set = new SampleSet
            {
                Type = group.Key.Type,
                Unit = group.Key.Type == DataType.Steps ? "count" : "count/min",
                BaseTime = Time(baseMs),
                Source = group.Key.Source,
            };
            foreach (var s in group)
            {
                set.Samples.Add(new Sample { Uuid = Batches.Uuid(s.Uuid), StartOffsetMs = s.StartMs - baseMs, DurationMs = (ulong)s.DurationMs, ScaledValue = s.Value });
            }

            batch.SampleSets.Add(set);
        }

        return batch;
    }

    /// <summary>Uploads the samples in batches of at most 10,000 from one device and checks each was committed whole.</summary>
    public static async Task UploadAsync(TestServer server, string token, IReadOnlyList<TestSample> samples, string device = "query-device", ulong firstSeq = 1)
    {
        var seq = firstSeq;
        foreach (var chunk in samples.Chunk(10_000))
        {
            var ack = (await server.Client.UploadAsync(Batches.Upload(Batch(seq, chunk), Batches.Device(device)), SyncApi.As(token)).Bounded()).Ack;
            Assert.True(ack.Outcome == AckOutcome.Committed && ack.Rejected == 0, $"batch {seq} was not committed cleanly: {ack}");
            seq++;
        }
    }

    /// <summary>The field a google.rpc.BadRequest in grpc-status-details-bin names.</summary>
    public static string ViolatedField(RpcException error)
    {
        var badRequest = error.GetRpcStatus()?.GetDetail<Google.Rpc.BadRequest>()
            ?? throw new Xunit.Sdk.XunitException($"no BadRequest in grpc-status-details-bin on {error.StatusCode}: {error.Status.Detail}");
        return Assert.Single(badRequest.FieldViolations).Field;
    }
}
