using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// The state a change-feed consumer mirrors: live samples (uuid → type and value), series, record versions and every
/// uuid published as deleted. Built once from what a test ingested and once by replaying the feed: the two must match.
/// </summary>
internal sealed class MirroredState
{
    public Dictionary<Guid, (DataType Type, double Value)> Samples { get; } = [];

    public HashSet<Guid> Series { get; } = [];

    public Dictionary<string, ulong> Records { get; } = [];

    public HashSet<Guid> Deleted { get; } = [];

    public void Apply(Change change)
    {
        switch (change.ItemCase)
        {
            case Change.ItemOneofCase.Sample:
                Samples[SampleUuid.ToGuid(change.Sample.Uuid)] = (change.Sample.Type, change.Sample.Quantity);
                break;
            case Change.ItemOneofCase.Series:
                Series.Add(SampleUuid.ToGuid(change.Series.Uuid));
                break;
            case Change.ItemOneofCase.Record:
                Records[change.Record.Record.RecordId] = change.Record.Record.Version;
                break;
            case Change.ItemOneofCase.Deletion:
                Delete(SampleUuid.ToGuid(change.Deletion.Uuid));
                break;
            default:
                throw new Xunit.Sdk.XunitException($"unexpected change kind {change.ItemCase} at {change.Sequence}");
        }
    }

    public void Delete(Guid uuid)
    {
        Samples.Remove(uuid);
        Series.Remove(uuid);
        Deleted.Add(uuid);
    }

    public void AssertEqual(MirroredState actual)
    {
        Assert.Equal(Samples.OrderBy(p => p.Key), actual.Samples.OrderBy(p => p.Key));
        Assert.Equal(Series.Order(), actual.Series.Order());
        Assert.Equal(Records.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Records.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(Deleted.Order(), actual.Deleted.Order());
    }
}

/// <summary>
/// A deterministic mix of what devices upload: heart-rate samples, deletions of earlier samples, a weigh-in replaced by
/// a newer sync_version, series and records. <see cref="Expected"/> is the state a mirror must end with.
/// </summary>
internal sealed class ChangeFeedWorkload(int samplesPerBatch, int seed = 7)
{
    private readonly Lock _gate = new();
    private readonly Random _random = new(seed);

    public MirroredState Expected { get; } = new();

    /// <summary>Uploads <paramref name="batches"/> batches for one device, one Upload each (acked before the next).</summary>
    public async Task IngestAsync(TestServer server, string token, string deviceId, int batches, Func<int, Task>? afterBatch = null)
    {
        var device = Device(deviceId);
        var live = new List<Guid>();
        Guid? weighIn = null;
        for (var b = 1; b <= batches; b++)
        {
            var batch = new Batch { BatchSeq = (ulong)b };
            var set = HeartRateSet([], firstOffsetMs: (b * 100_000L) + (deviceId.GetHashCode(StringComparison.Ordinal) % 1000));
            var added = new List<(Guid Uuid, long Value)>();
            for (var i = 0; i < samplesPerBatch; i++)
            {
                var uuid = Guid.NewGuid();
                long value;
                lock (_gate)
                {
                    value = _random.Next(40, 180);
                }

                set.Samples.Add(new Sample { Uuid = Uuid(uuid), StartOffsetMs = i * 1000L, ScaledValue = value });
                added.Add((uuid, value));
            }

            batch.SampleSets.Add(set);
            var deleted = b % 4 == 0 ? live.Take(5).ToList() : [];
            live.RemoveRange(0, deleted.Count);
            foreach (var uuid in deleted)
            {
                batch.Deletions.Add(new Deletion { Uuid = Uuid(uuid), DeletedTime = Timestamp.FromDateTimeOffset(Origin) });
            }

            Guid? newWeighIn = b % 5 == 0 ? Guid.NewGuid() : null;
            if (newWeighIn is { } weigh)
            {
                batch.SampleSets.Add(new SampleSet
                {
                    Type = DataType.BodyMass,
                    Unit = "kg",
                    BaseTime = Timestamp.FromDateTimeOffset(Origin),
                    Source = new Source { Kind = DeviceKind.Scale, Name = "Scale" },
                    Samples = { new Sample { Uuid = Uuid(weigh), ScaledValue = 70 + b, SyncIdentifier = $"weigh-in:{deviceId}", SyncVersion = (ulong)b } },
                });
            }

            var series = b % 6 == 0 ? TimeValidationTests.GoodSeries() : null;
            if (series is not null)
            {
                batch.Series.Add(series);
                batch.Records.Add(new Contracts.V1.Record
                {
                    RecordType = "com.example/session",
                    RecordId = $"{deviceId}-{b}",
                    Version = 1,
                    ContentType = "application/json",
                    Payload = ByteString.CopyFromUtf8("{}"),
                    ModifiedTime = Timestamp.FromDateTimeOffset(Origin),
                });
            }

            var response = await server.Client.UploadAsync(Upload(batch, device), SyncApi.As(token)).Bounded();
            Assert.Equal(AckOutcome.Committed, response.Ack.Outcome);
            Assert.Equal(0u, response.Ack.Rejected);
            lock (_gate)
            {
                foreach (var (uuid, value) in added)
                {
                    Expected.Samples[uuid] = (DataType.HeartRate, value);
                }

                foreach (var uuid in deleted)
                {
                    Expected.Delete(uuid);
                }

                if (newWeighIn is { } stored)
                {
                    if (weighIn is { } old)
                    {
                        Expected.Delete(old); // the replaced version is published as a deletion of its uuid
                    }

                    Expected.Samples[stored] = (DataType.BodyMass, 70 + b);
                    weighIn = stored;
                }

                if (series is not null)
                {
                    Expected.Series.Add(SampleUuid.ToGuid(series.Uuid));
                    Expected.Records[$"{deviceId}-{b}"] = 1;
                }
            }

            live.AddRange(added.Select(a => a.Uuid));
            if (afterBatch is not null)
            {
                await afterBatch(b);
            }
        }
    }
}
