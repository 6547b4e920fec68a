using Grpc.Core;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.QueryApi;

namespace HealthGrpc.Server.Tests;

/// <summary>QueryService.GetDailyDigest on a real server: per type × UTC day counts and uuid digests, the device filter, deletions, refusals.</summary>
public sealed class QueryDailyDigestTests : ServerTest
{
    private const long DayMs = 86_400_000;
    private static readonly long Day0 = Ms(Batches.Origin.AddDays(-2));

    private static TestSample HeartRate(long startMs) => new(Guid.NewGuid(), DataType.HeartRate, Watch, startMs, 0, 60);

    private static GetDailyDigestRequest Request(int days, string device = "", params DataType[] types) => new()
    {
        Types_ = { types.Length == 0 ? [DataType.HeartRate, DataType.Steps] : types },
        StartDay = Time(Day0),
        Days = (uint)days,
        DeviceId = device,
    };

    private Task<GetDailyDigestResponse> DigestAsync(GetDailyDigestRequest request, string? token = null) =>
        Server.Query().GetDailyDigestAsync(request, SyncApi.As(token ?? Token)).Bounded();

    private static ulong DigestOf(IEnumerable<TestSample> samples) => samples.Aggregate(0ul, (d, s) => SampleDigest.Add(d, s.UuidBytes));

    [Fact]
    public async Task Counts_and_digests_per_type_and_utc_day_match_the_uploaded_uuids_and_a_device_filter_keeps_its_own()
    {
        // Day 0: 3 heart-rate samples from the watch (one at the last millisecond of the day), day 1: 2 from the phone.
        var watchDay0 = new[] { HeartRate(Day0), HeartRate(Day0 + 3_600_000), HeartRate(Day0 + DayMs - 1) };
        var phoneDay1 = new[] { HeartRate(Day0 + DayMs), HeartRate(Day0 + DayMs + 60_000) };
        await UploadAsync(Server, Token, watchDay0, device: "watch");
        await UploadAsync(Server, Token, phoneDay1, device: "phone");

        var all = await DigestAsync(Request(3));
        var watchOnly = await DigestAsync(Request(3, "watch"));
        var unknown = await DigestAsync(Request(3, "never-seen"));

        Assert.Equal(6, all.Digests.Count); // 2 types × 3 days, empty entries included, by type then day
        Assert.Equal(
            [(DataType.HeartRate, Day0, 3ul, DigestOf(watchDay0)), (DataType.HeartRate, Day0 + DayMs, 2ul, DigestOf(phoneDay1)), (DataType.HeartRate, Day0 + (2 * DayMs), 0ul, 0ul)],
            all.Digests.Take(3).Select(d => (d.Type, Ms(d.DayStart.ToDateTimeOffset()), d.Count, d.Digest)));
        Assert.All(all.Digests.Skip(3), d => Assert.Equal((DataType.Steps, 0ul), (d.Type, d.Count)));
        Assert.Equal([3ul, 0ul, 0ul], watchOnly.Digests.Take(3).Select(d => d.Count));
        Assert.Equal(DigestOf(watchDay0), watchOnly.Digests[0].Digest);
        Assert.All(unknown.Digests, d => Assert.Equal(0ul, d.Count));
    }

    [Fact]
    public async Task A_deleted_sample_leaves_the_count_and_the_digest()
    {
        var samples = new[] { HeartRate(Day0 + 1000), HeartRate(Day0 + 2000) };
        await UploadAsync(Server, Token, samples, device: "watch");
        var deletion = new Batch { BatchSeq = 2 };
        deletion.Deletions.Add(new Deletion { Uuid = Batches.Uuid(samples[0].Uuid), DeletedTime = Time(Day0 + 5000) });
        await Server.Client.UploadAsync(Batches.Upload(deletion, Batches.Device("watch")), SyncApi.As(Token)).Bounded();

        var digest = (await DigestAsync(Request(1, "watch", DataType.HeartRate))).Digests.Single();

        Assert.Equal((1ul, DigestOf([samples[1]])), (digest.Count, digest.Digest));
    }

    [Theory]
    [InlineData("no types", "types")]
    [InlineData("unknown type", "types[1]")]
    [InlineData("repeated type", "types[1]")]
    [InlineData("no days", "days")]
    [InlineData("too many days", "days")]
    [InlineData("not midnight", "start_day")]
    [InlineData("no start", "start_day")]
    [InlineData("long device", "device_id")]
    public async Task Bad_requests_are_invalid_argument_naming_the_field(string problem, string field)
    {
        var request = Request(1);
        switch (problem)
        {
            case "no types": request.Types_.Clear(); break;
            case "unknown type": request.Types_[1] = (DataType)999; break;
            case "repeated type": request.Types_[1] = DataType.HeartRate; break;
            case "no days": request.Days = 0; break;
            case "too many days": request.Days = 93; break;
            case "not midnight": request.StartDay = Time(Day0 + 1000); break;
            case "no start": request.StartDay = null; break;
            default: request.DeviceId = new string('d', 129); break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => DigestAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, ViolatedField(error));
        Assert.Contains(field, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_share_code_is_permission_denied()
    {
        var created = await SharingApi.GrantAsync(Server, Token, SharingApi.HeartRateOnDay2(null));

        var error = await Assert.ThrowsAsync<RpcException>(() => DigestAsync(Request(1), created.ShareCode));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }
}
