using Grpc.Core;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using static HealthGrpc.Server.Tests.QueryApi;

namespace HealthGrpc.Server.Tests;

/// <summary>QueryService.ReadSamples on a real server: ranges, filters, paging and what the page token accepts.</summary>
public sealed class QueryReadSamplesTests : ServerTest
{
    private static readonly long Day = Ms(Batches.Origin);

    private static TestSample HeartRate(long offsetMs, Source? source = null, long durationMs = 0, long value = 60) =>
        new(Guid.NewGuid(), DataType.HeartRate, source ?? Watch, Day + offsetMs, durationMs, value);

    private static ReadSamplesRequest Request(long fromOffsetMs, long toOffsetMs, uint pageSize = 0, params DataType[] types) => new()
    {
        StartTime = Time(Day + fromOffsetMs),
        EndTime = Time(Day + toOffsetMs),
        PageSize = pageSize,
        Types_ = { types.Length == 0 ? [DataType.HeartRate] : types },
    };

    private async Task<List<ReadSamplesResponse>> ReadAllAsync(ReadSamplesRequest request, Func<int, Task>? betweenPages = null)
    {
        var pages = new List<ReadSamplesResponse>();
        while (true)
        {
            var page = await Server.Query().ReadSamplesAsync(request, SyncApi.As(Token)).Bounded();
            pages.Add(page);
            Assert.True(pages.Count < 1000, "paging does not end");
            if (page.NextPageToken.Length == 0)
            {
                return pages;
            }

            if (betweenPages is not null)
            {
                await betweenPages(pages.Count);
            }

            request = request.Clone();
            request.PageToken = page.NextPageToken;
        }
    }

    private static List<Guid> Uuids(IEnumerable<ReadSamplesResponse> pages) =>
        pages.SelectMany(p => p.Samples).Select(s => SampleUuid.ToGuid(s.Uuid)).ToList();

    [Fact]
    public async Task Pages_return_every_sample_of_the_range_once_in_start_order()
    {
        var samples = Enumerable.Range(0, 2_500).Select(i => HeartRate(i * 1000L, value: 40 + (i % 100))).ToList();
        var steps = Enumerable.Range(0, 50).Select(i => new TestSample(Guid.NewGuid(), DataType.Steps, Phone, Day + (i * 1000L), 1000, 10)).ToList();
        await UploadAsync(Server, Token, [.. samples, .. steps]);

        // [100 s, 2,300 s): 2,200 heart-rate samples, in pages of 300.
        var pages = await ReadAllAsync(Request(100_000, 2_300_000, pageSize: 300));

        Assert.Equal(8, pages.Count);
        Assert.All(pages[..^1], p => Assert.Equal(300, p.Samples.Count));
        var expected = samples.Where(s => s.StartMs >= Day + 100_000 && s.StartMs < Day + 2_300_000).ToList();
        Assert.Equal(expected.Select(s => s.Uuid), Uuids(pages));
        var read = pages.SelectMany(p => p.Samples).ToList();
        Assert.All(read, s => Assert.Equal(DataType.HeartRate, s.Type));
        Assert.Equal(expected.Select(s => (double)s.Value), read.Select(s => s.Quantity));
        Assert.All(read, s => Assert.Equal(("count/min", "Watch", "query-device"), (s.Unit, s.Source.Name, s.DeviceId)));
    }

    [Fact]
    public async Task Page_boundaries_neither_repeat_nor_skip_while_ingest_commits_between_pages()
    {
        var samples = Enumerable.Range(0, 1_000).Select(i => HeartRate(i * 2000L)).ToList();
        await UploadAsync(Server, Token, samples);
        var seq = 2UL;
        var late = new List<TestSample>();

        // Between pages, new samples land before the cursor, at the cursor's instant and after it.
        var pages = await ReadAllAsync(Request(0, 2_000_000, pageSize: 128), async page =>
        {
            var cursorMs = page * 128 * 2000L;
            List<TestSample> more = [HeartRate(cursorMs - 2000), HeartRate(cursorMs - 1000), HeartRate(cursorMs - 2000), HeartRate(cursorMs + 1000), HeartRate(1_999_000)];
            late.AddRange(more);
            await UploadAsync(Server, Token, more, firstSeq: seq++);
        });

        Assert.Equal(samples.Select(s => s.Uuid), Uuids(pages));
        Assert.NotEmpty(late);
        // A new query sees everything.
        var fresh = Uuids(await ReadAllAsync(Request(0, 2_000_000, pageSize: 5_000)));
        Assert.Equal(samples.Count + late.Count, fresh.Count);
        Assert.Equal(fresh.Count, fresh.Distinct().Count());
    }

    [Fact]
    public async Task Intervals_overlapping_the_range_are_returned_and_touching_ones_are_not()
    {
        TestSample[] inside = [HeartRate(-3_600_000, durationMs: 3_600_001), HeartRate(0), HeartRate(59_999), HeartRate(30_000, durationMs: 600_000)];
        TestSample[] outside = [HeartRate(-3_600_000, durationMs: 3_600_000), HeartRate(60_000), HeartRate(-1), HeartRate(-(25 * 3_600_000L), durationMs: 25 * 3_600_000L + 1)];
        await UploadAsync(Server, Token, [.. inside, .. outside]);

        var read = Uuids(await ReadAllAsync(Request(0, 60_000)));

        // Ordered by start; an interval starting more than 24 h before the range is out of the documented lookback.
        Assert.Equal(inside.OrderBy(s => s.StartMs).Select(s => s.Uuid), read);
    }

    [Fact]
    public async Task Types_and_source_kinds_filter_what_is_read()
    {
        TestSample[] samples =
        [
            HeartRate(0, Watch), HeartRate(1000, Phone), HeartRate(2000, Strap),
            new(Guid.NewGuid(), DataType.Steps, Phone, Day + 3000, 1000, 12), new(Guid.NewGuid(), DataType.Steps, Watch, Day + 4000, 1000, 7),
        ];
        await UploadAsync(Server, Token, samples);

        var steps = Uuids(await ReadAllAsync(Request(0, 60_000, types: DataType.Steps)));
        var both = Uuids(await ReadAllAsync(Request(0, 60_000, 2, DataType.Steps, DataType.HeartRate)));
        var request = Request(0, 60_000, 1, DataType.Steps, DataType.HeartRate);
        request.SourceKinds.Add([DeviceKind.Phone, DeviceKind.Wearable]);
        var phoneOrStrap = Uuids(await ReadAllAsync(request));

        Assert.Equal([samples[3].Uuid, samples[4].Uuid], steps);
        Assert.Equal(samples.Select(s => s.Uuid), both);
        Assert.Equal([samples[1].Uuid, samples[2].Uuid, samples[3].Uuid], phoneOrStrap);
    }

    [Fact]
    public async Task Series_and_waveforms_overlapping_the_range_come_back_as_stored_in_start_order()
    {
        var series = new Series { Uuid = Batches.Uuid(Guid.NewGuid()), Type = DataType.HeartRate, Source = Strap };
        SeriesColumns.Encode(series, Enumerable.Range(0, 120).Select(i => new SeriesPoint(Day + 10_000 + (i * 1000L), 70 + (i % 5))).ToArray());
        var before = new Series { Uuid = Batches.Uuid(Guid.NewGuid()), Type = DataType.HeartRate, Source = Strap };
        SeriesColumns.Encode(before, [new SeriesPoint(Day - 5000, 80), new SeriesPoint(Day - 1000, 81)]);
        var ecg = new Waveform
        {
            Uuid = Batches.Uuid(Guid.NewGuid()), Type = DataType.Ecg, Unit = "uV", Source = Watch, StartTime = Time(Day + 5_000), SamplingFrequencyHz = 512,
            ChunkCount = 2, VoltageDeltas = { Enumerable.Repeat(1, 512) },
        };
        var ecgSecond = ecg.Clone();
        ecgSecond.ChunkIndex = 1;
        ecgSecond.FirstSampleIndex = 512;
        var batch = Batch(1, [HeartRate(20_000)]);
        batch.Series.Add([series, before]);
        batch.Waveforms.Add([ecg, ecgSecond]);
        var ack = (await Server.Client.UploadAsync(Batches.Upload(batch, Batches.Device("query-device")), SyncApi.As(Token)).Bounded()).Ack;
        Assert.Equal(5u, ack.Accepted);

        var pages = await ReadAllAsync(Request(0, 60_000, 1, DataType.HeartRate, DataType.Ecg));
        // The second ECG chunk covers [6 s, 7 s): a range ending at 6 s leaves it out.
        var short_ = await ReadAllAsync(Request(0, 6_000, 10, DataType.Ecg));

        Assert.Equal(4, pages.Count);
        Assert.Equal([0u, 1u], pages.SelectMany(p => p.Waveforms).Select(w => w.ChunkIndex));
        Assert.Equal(ecg.VoltageDeltas, pages[0].Waveforms.Single().VoltageDeltas);
        Assert.Equal(series.ValueDeltas, pages[2].Series.Single().ValueDeltas);
        Assert.Equal(series.Uuid, pages[2].Series.Single().Uuid);
        Assert.Single(pages[3].Samples);
        Assert.Equal([0u], short_.SelectMany(p => p.Waveforms).Select(w => w.ChunkIndex));
    }

    [Theory]
    [InlineData("garbage!")]
    [InlineData("AQ")]
    [InlineData("version")]
    [InlineData("truncated")]
    public async Task A_page_token_that_is_not_the_servers_is_refused_naming_page_token(string token)
    {
        await UploadAsync(Server, Token, Enumerable.Range(0, 3).Select(i => HeartRate(i * 1000L)).ToList());
        var request = Request(0, 60_000, 1);
        var first = await Server.Query().ReadSamplesAsync(request, SyncApi.As(Token)).Bounded();
        // A real token with another format version, or cut short, is not a token.
        request.PageToken = token switch
        {
            "version" => (first.NextPageToken[0] == 'A' ? "B" : "A") + first.NextPageToken[1..],
            "truncated" => first.NextPageToken[..^4],
            _ => token,
        };

        var error = await Assert.ThrowsAsync<RpcException>(() => Server.Query().ReadSamplesAsync(request, SyncApi.As(Token)).Bounded());

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("page_token", ViolatedField(error));
    }

    [Fact]
    public async Task A_page_token_works_only_for_the_query_and_user_that_got_it()
    {
        await UploadAsync(Server, Token, Enumerable.Range(0, 3).Select(i => HeartRate(i * 1000L)).ToList());
        var bob = await Server.CreateUserAsync("bob");
        var first = await Server.Query().ReadSamplesAsync(Request(0, 60_000, 1), SyncApi.As(Token)).Bounded();
        Assert.NotEmpty(first.NextPageToken);

        var otherRange = Request(0, 50_000, 1);
        otherRange.PageToken = first.NextPageToken;
        var otherTypes = Request(0, 60_000, 1, DataType.HeartRate, DataType.Steps);
        otherTypes.PageToken = first.NextPageToken;
        var asBob = Request(0, 60_000, 1);
        asBob.PageToken = first.NextPageToken;

        foreach (var (request, token) in new[] { (otherRange, Token), (otherTypes, Token), (asBob, bob) })
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => Server.Query().ReadSamplesAsync(request, SyncApi.As(token)).Bounded());
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Equal("page_token", ViolatedField(error));
        }
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { "no types", "types" },
        { "unknown type", "types[1]" },
        { "end before start", "end_time" },
        { "no start", "start_time" },
        { "page size", "page_size" },
        { "unknown source kind", "source_kinds[0]" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_arguments_are_invalid_argument_naming_the_field(string problem, string field)
    {
        var request = Request(0, 60_000);
        switch (problem)
        {
            case "no types": request.Types_.Clear(); break;
            case "unknown type": request.Types_.Add((DataType)42); break;
            case "end before start": request.EndTime = request.StartTime; break;
            case "no start": request.StartTime = null; break;
            case "page size": request.PageSize = 10_001; break;
            default: request.SourceKinds.Add((DeviceKind)99); break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Server.Query().ReadSamplesAsync(request, SyncApi.As(Token)).Bounded());

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, ViolatedField(error));
        Assert.Contains(field, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_users_data_is_permission_denied_with_no_grant_and_ones_own_id_reads()
    {
        await UploadAsync(Server, Token, [HeartRate(0)]);
        var bob = await Server.CreateUserAsync("bob");
        var request = Request(0, 60_000);
        request.OwnerUserId = "alice";

        var denied = await Assert.ThrowsAsync<RpcException>(() => Server.Query().ReadSamplesAsync(request, SyncApi.As(bob)).Bounded());
        request.OwnerUserId = "nobody";
        var deniedUnknown = await Assert.ThrowsAsync<RpcException>(() => Server.Query().ReadSamplesAsync(request, SyncApi.As(bob)).Bounded());
        request.OwnerUserId = "alice";
        var own = await Server.Query().ReadSamplesAsync(request, SyncApi.As(Token)).Bounded();

        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal(ErrorReason.NoGrant, SyncApi.Detail(denied).Reason);
        Assert.Equal((denied.StatusCode, denied.Status.Detail), (deniedUnknown.StatusCode, deniedUnknown.Status.Detail));
        Assert.Single(own.Samples);
    }
}
