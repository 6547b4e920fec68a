using FsCheck;
using FsCheck.Fluent;
using HealthGrpc.Contracts.V1;
using Microsoft.FSharp.Core;
using NodaTime;
using static HealthGrpc.Server.Tests.QueryApi;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// Issue 10, property: GetAggregates equals a brute-force computation over the raw samples, for random samples of
/// several sources (overlapping, some deleted), random source priorities of the request and stored for the user
/// (SetSourcePriority; the request's ranks first, then the stored one, then the default), random zones (Asia/Kathmandu and America/St_Johns always among them),
/// random bucket sizes, and ranges around the zone's DST changes. The brute force shares nothing with the server: it
/// takes every surviving raw sample, picks per 15-minute UTC slot the samples of the winning source, and keys each by
/// its own local hour/day/week/month (NodaTime's ZonedDateTime of the sample). Fixed seed; a failure prints the case.
/// </summary>
public sealed class QueryAggregatesPropertyTests : ServerTest
{
    private const int Cases = 60;
    private static readonly Replay FixedSeed = new(new Rnd(0x2545F4914F6CDD1DUL, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None);

    private static readonly string[] Zones =
        ["Asia/Kathmandu", "America/St_Johns", "Europe/Berlin", "America/New_York", "Australia/Adelaide", "Pacific/Chatham", "Asia/Kolkata", "UTC", "Europe/London"];

    private static readonly Source[] Sources = [Watch, OtherWatch, Phone, Strap, Scale, Manual];

    private static readonly DeviceKind[] Kinds = [DeviceKind.Watch, DeviceKind.Phone, DeviceKind.Wearable, DeviceKind.Scale, DeviceKind.Manual, DeviceKind.App];

    public sealed record Raw(int Source, int SlotOffset, int MsInSlot, int Value, bool Deleted);

    public sealed record Case(string Zone, int Transition, BucketSize Size, DeviceKind[] Priority, DeviceKind[] Stored, Raw[] Samples)
    {
        public override string ToString() =>
            $"{Zone} transition#{Transition} {Size} priority=[{string.Join(",", Priority)}] stored=[{string.Join(",", Stored)}] samples=[{string.Join("; ", Samples.Select(s => s.ToString()))}]";
    }

    private static Arbitrary<Case> Arbitrary() =>
        (from zone in Gen.Elements(Zones)
         from transition in Gen.Choose(0, 3)
         from size in Gen.Elements(BucketSize.Hour, BucketSize.Day, BucketSize.Week, BucketSize.Month)
         from priorityLength in Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Choose(1, 4)))
         from priority in Gen.Shuffle(Kinds).Select(k => k.Take(priorityLength).ToArray())
         from storedLength in Gen.Frequency((1, Gen.Constant(0)), (2, Gen.Choose(1, 5)))
         from stored in Gen.Shuffle(Kinds).Select(k => k.Take(storedLength).ToArray())
         from count in Gen.Choose(1, 60)
         from samples in (from source in Gen.Choose(0, Sources.Length - 1)
                          // Few slots around the transition, so sources overlap within slots; some far away.
                          from slot in Gen.Frequency((4, Gen.Choose(-12, 12)), (1, Gen.Choose(-4 * 24 * 20, 4 * 24 * 20)))
                          from ms in Gen.Frequency((3, Gen.Choose(0, 899_999)), (1, Gen.Elements(0, 899_999)))
                          from value in Gen.Choose(1, 250)
                          from deleted in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
                          select new Raw(source, slot, ms, value, deleted)).ArrayOf(count)
         select new Case(zone, transition, size, priority, stored, samples)).ToArbitrary();

    [Fact]
    public async Task Aggregates_equal_a_brute_force_over_the_raw_samples_in_random_zones_around_dst_changes()
    {
        var caseNumber = 0;
        var property = Prop.ForAll(Arbitrary(), c => RunCaseAsync(c, Interlocked.Increment(ref caseNumber)).GetAwaiter().GetResult());
        var config = Config.QuickThrowOnFailure.WithMaxTest(Cases).WithReplay(FSharpOption<Replay>.Some(FixedSeed)).WithQuietOnSuccess(true);

        // Off the test's synchronization context: the property blocks on the calls it makes.
        await Task.Run(() => Check.One(config, property)).WaitAsync(TimeSpan.FromMinutes(4));

        Assert.Equal(Cases, caseNumber);
    }

    /// <summary>The zone's offset changes in 2024-2025 (for a zone without any: midnights of four fixed days).</summary>
    private static Instant Anchor(DateTimeZone zone, int transition)
    {
        var changes = zone.GetZoneIntervals(Instant.FromUtc(2024, 1, 1, 0, 0), Instant.FromUtc(2026, 1, 1, 0, 0))
            .Skip(1).Select(i => i.Start).ToList();
        return changes.Count > 0
            ? changes[transition % changes.Count]
            : Instant.FromUtc(2025, 1 + (3 * transition), 1 + transition, 0, 0);
    }

    private async Task RunCaseAsync(Case c, int number)
    {
        var user = $"agg-{number}";
        var token = await Server.CreateUserAsync(user);
        if (c.Stored.Length > 0)
        {
            await Server.Query().SetSourcePriorityAsync(new SetSourcePriorityRequest { SourcePriority = { c.Stored } }, SyncApi.As(token)).Bounded();
        }

        var zone = DateTimeZoneProviders.Tzdb[c.Zone];
        var anchorMs = Anchor(zone, c.Transition).ToUnixTimeMilliseconds();
        var anchorSlot = Math.DivRem(anchorMs, 900_000, out var rest) * 900_000 - (rest < 0 ? 900_000 : 0);
        var samples = c.Samples
            .Select(r => new TestSample(Guid.NewGuid(), DataType.HeartRate, Sources[r.Source], anchorSlot + (r.SlotOffset * 900_000L) + r.MsInSlot, 0, 30 + r.Value))
            .ToList();
        await UploadAsync(Server, token, samples);
        var deleted = samples.Where((_, i) => c.Samples[i].Deleted).ToList();
        if (deleted.Count > 0)
        {
            var deletions = new Batch { BatchSeq = 2 };
            deletions.Deletions.Add(deleted.Select(s => new Deletion { Uuid = Batches.Uuid(s.Uuid), DeletedTime = Time(s.StartMs) }));
            var ack = (await Server.Client.UploadAsync(Batches.Upload(deletions, Batches.Device("query-device")), SyncApi.As(token)).Bounded()).Ack;
            Assert.Equal((uint)deleted.Count, ack.Accepted);
        }

        var from = samples.Min(s => s.StartMs) - ((long)(number % 5) * 3_600_000);
        var to = samples.Max(s => s.StartMs) + 1 + ((long)(number % 7) * 3_600_000);
        var request = new GetAggregatesRequest
        {
            Type = DataType.HeartRate,
            StartTime = Time(from),
            EndTime = Time(to),
            BucketSize = c.Size,
            TimeZone = c.Zone,
            Functions = { AggregateFunction.Sum, AggregateFunction.Avg, AggregateFunction.Min, AggregateFunction.Max, AggregateFunction.Count, AggregateFunction.Latest },
            SourcePriority = { c.Priority },
        };
        var response = await Server.Query().GetAggregatesAsync(request, SyncApi.As(token)).Bounded();

        var expected = BruteForce(samples.Except(deleted).ToList(), zone, c.Size, [.. c.Priority, .. c.Stored]);
        AssertBucketsTile(response, zone, c.Size, from, to);
        var byKey = response.Buckets.ToDictionary(b => Key(zone, c.Size, Ms(b.StartTime.ToDateTimeOffset())));
        foreach (var (key, want) in expected)
        {
            Assert.True(byKey.TryGetValue(key, out var got), $"no bucket for {key} in {response}");
            Assert.Equal((ulong)want.Count, got.Count);
            Assert.Equal(want.Sum, got.Sum, 6);
            Assert.Equal(want.Sum / want.Count, got.Avg, 6);
            Assert.Equal((want.Min, want.Max, want.Latest, want.Kind), (got.Min, got.Max, got.Latest, got.ChosenSourceKind));
        }

        Assert.All(response.Buckets.Where(b => !expected.ContainsKey(Key(zone, c.Size, Ms(b.StartTime.ToDateTimeOffset())))), b => Assert.Equal(0UL, b.Count));
    }

    /// <summary>Buckets are contiguous, cover [from, to), and each holds exactly one local key from start to end.</summary>
    private static void AssertBucketsTile(GetAggregatesResponse response, DateTimeZone zone, BucketSize size, long from, long to)
    {
        var buckets = response.Buckets.Select(b => (Start: Ms(b.StartTime.ToDateTimeOffset()), End: Ms(b.EndTime.ToDateTimeOffset()))).ToList();
        Assert.True(buckets[0].Start <= from && buckets[^1].End >= to, $"buckets {buckets[0].Start}..{buckets[^1].End} do not cover {from}..{to}");
        Assert.True(buckets[^1].Start < to);
        for (var i = 0; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].End > buckets[i].Start);
            Assert.Equal(Key(zone, size, buckets[i].Start), Key(zone, size, buckets[i].End - 1));
            if (i > 0)
            {
                Assert.Equal(buckets[i - 1].End, buckets[i].Start);
                Assert.NotEqual(Key(zone, size, buckets[i - 1].Start), Key(zone, size, buckets[i].Start));
            }
        }
    }

    /// <summary>The local bucket a sample's start belongs to (an hour repeated at a DST end differs by its offset).</summary>
    private static string Key(DateTimeZone zone, BucketSize size, long unixMs)
    {
        var local = Instant.FromUnixTimeMilliseconds(unixMs).InZone(zone);
        return size switch
        {
            BucketSize.Hour => $"{local.Date:yyyy-MM-dd} {local.Hour:00} {local.Offset}",
            BucketSize.Day => $"{local.Date:yyyy-MM-dd}",
            BucketSize.Week => $"{local.Date.With(DateAdjusters.PreviousOrSame(IsoDayOfWeek.Monday)):yyyy-MM-dd}",
            _ => $"{local.Year:0000}-{local.Month:00}",
        };
    }

    private sealed record Expected(long Count, double Sum, double Min, double Max, double Latest, DeviceKind Kind);

    private static Dictionary<string, Expected> BruteForce(List<TestSample> samples, DateTimeZone zone, BucketSize size, DeviceKind[] priority)
    {
        int Rank(DeviceKind kind)
        {
            DeviceKind[] order = [.. priority, DeviceKind.Watch, DeviceKind.Phone, DeviceKind.Wearable, DeviceKind.Scale, DeviceKind.MedicalDevice, DeviceKind.App, DeviceKind.Manual, DeviceKind.Unspecified];
            return Array.IndexOf(order, kind);
        }

        string Identity(Source s) => string.Join("\u0001", s.Name, s.Manufacturer, s.Model, s.HardwareVersion, s.SoftwareVersion, s.AppId);

        var winners = new List<TestSample>();
        foreach (var slot in samples.GroupBy(s => Math.Floor(s.StartMs / 900_000.0)))
        {
            var winner = slot.Select(s => s.Source).Distinct()
                .OrderBy(s => Rank(s.Kind)).ThenBy(Identity, StringComparer.Ordinal).First();
            winners.AddRange(slot.Where(s => s.Source.Equals(winner)));
        }

        return winners.GroupBy(s => Key(zone, size, s.StartMs)).ToDictionary(g => g.Key, g =>
        {
            var latest = g.OrderBy(s => s.StartMs).ThenBy(s => s.UuidBytes, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))).Last();
            var kind = g.Select(s => s.Source.Kind).OrderBy(Rank).First();
            return new Expected(g.Count(), g.Sum(s => (double)s.Value), g.Min(s => s.Value), g.Max(s => s.Value), latest.Value, kind);
        });
    }
}
