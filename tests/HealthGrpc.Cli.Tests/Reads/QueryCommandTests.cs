using System.Globalization;
using System.Text.Json;
using HealthGrpc.Cli.Tests.Infrastructure;

namespace HealthGrpc.Cli.Tests.Reads;

public sealed class QueryCommandTests
{
    private static readonly string[] Samples = ["query", "samples"];

    private static string At(DateTimeOffset time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    [Fact]
    public async Task QuerySamples_Json_ReturnsTheStoredSamplesAndSeriesPoints_WithValuesTimesAndUnits()
    {
        using var f = await ReadFixture.StartAsync();

        var rows = (await Healthgrpc.RunAsync(f.Args(Samples, "--types", "heart-rate", "--from", At(ReadFixture.Origin), "--to", At(ReadFixture.Origin.AddHours(1)), "--format", "json")))
            .Succeeded().Json().GetProperty("rows").EnumerateArray().ToList();

        var discrete = rows.Where(r => r.GetProperty("kind").GetString() == "sample").ToList();
        Assert.Equal(
            ReadFixture.HeartRates.Select(s => (s.Uuid.ToString(), At(ReadFixture.Origin.AddSeconds(s.Second)).Replace("Z", ".000Z", StringComparison.Ordinal), (double)s.Bpm, "count/min", "HeartRate", "Watch", "Test Watch")),
            discrete.Select(r => (r.GetProperty("uuid").GetString()!, r.GetProperty("start").GetString()!, r.GetProperty("value").GetDouble(), r.GetProperty("unit").GetString()!, r.GetProperty("type").GetString()!, r.GetProperty("sourceKind").GetString()!, r.GetProperty("sourceName").GetString()!)));
        var points = rows.Where(r => r.GetProperty("kind").GetString() == "series").ToList();
        Assert.Equal(ReadFixture.SeriesBpm.Select(bpm => (double)bpm), points.Select(r => r.GetProperty("value").GetDouble()));
        Assert.All(points, r => Assert.Equal(ReadFixture.SeriesUuid.ToString(), r.GetProperty("uuid").GetString()));
        Assert.Equal(ReadFixture.Origin.AddMinutes(30).AddSeconds(3), DateTimeOffset.Parse(points[^1].GetProperty("start").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(JsonValueKind.Null, (await Healthgrpc.RunAsync(f.Args(Samples, "--types", "heart-rate", "--from", "3d", "--format", "json"))).Succeeded().Json().GetProperty("nextPageToken").ValueKind);
    }

    [Fact]
    public async Task QuerySamples_PagesWithPageToken_EveryItemOnce_AndCsvAndTableShowTheSameRows()
    {
        using var f = await ReadFixture.StartAsync();
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            string[] paging = token is null ? [] : ["--page-token", token];
            // A page token belongs to one range: a relative --from (3d) would move between the calls.
            var page = (await Healthgrpc.RunAsync(f.Args(Samples, ["--from", At(ReadFixture.Origin.AddDays(-1)), "--to", At(ReadFixture.Origin.AddDays(1)), "--page-size", "3", "--format", "json", .. paging]))).Succeeded().Json();
            seen.AddRange(page.GetProperty("rows").EnumerateArray().Select(r => $"{r.GetProperty("uuid").GetString()}@{r.GetProperty("start").GetString()}"));
            token = page.GetProperty("nextPageToken").GetString();
            pages++;
        }
        while (token is not null && pages < 20);

        var csv = (await Healthgrpc.RunAsync(f.Args(Samples, "--from", "3d", "--format", "csv"))).Succeeded().Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var table = (await Healthgrpc.RunAsync(f.Args(Samples, "--from", "3d", "--zone", "Europe/Berlin"))).Succeeded();
        var firstPage = (await Healthgrpc.RunAsync(f.Args(Samples, "--from", "3d", "--page-size", "2"))).Succeeded();
        var hint = System.Text.RegularExpressions.Regex.Match(firstPage.Stderr, "more: run again with (--from \\S+ --to \\S+ --page-token \\S+)");
        Assert.True(hint.Success, firstPage.Stderr);
        var secondPage = (await Healthgrpc.RunAsync(f.Args(Samples, ["--format", "csv", .. hint.Groups[1].Value.Split(' ')]))).Succeeded();

        Assert.Equal(ReadFixture.Items, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.True(pages >= 3, $"{pages} pages of at most 3 items for {seen.Count} items");
        Assert.Equal("kind,uuid,type,start,end,value,unit,category,sourceKind,sourceName,deviceId", csv[0]);
        Assert.Equal(ReadFixture.Items, csv.Length - 1);
        Assert.Contains(csv, line => line.StartsWith($"sample,{ReadFixture.SleepUuid},SleepAnalysis,", StringComparison.Ordinal) && line.Contains(",Rem,", StringComparison.Ordinal));
        // The table prints times in --zone: 10:00 UTC is 11:00 (winter) or 12:00 (summer) in Berlin, never 10:00.
        Assert.Contains(ReadFixture.HeartRates[0].Uuid.ToString(), table.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(At(ReadFixture.Origin).Replace("Z", "", StringComparison.Ordinal), table.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{ReadFixture.Items} rows.", table.Stderr, StringComparison.Ordinal);
        Assert.Equal(csv[3..5], secondPage.Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)[1..3]);
    }

    [Fact]
    public async Task QueryAggregates_StepsByBerlinDay_SumsTheDaysSteps_AndHeartRateStatistics()
    {
        using var f = await ReadFixture.StartAsync();
        var day = ReadFixture.Origin.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var steps = Assert.Single((await Healthgrpc.RunAsync(f.Args(["query", "aggregates"], "--type", "steps", "--bucket", "day", "--zone", "Europe/Berlin", "--from", day, "--to", ReadFixture.Origin.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), "--format", "json")))
            .Succeeded().Json().GetProperty("rows").EnumerateArray());
        var heart = (await Healthgrpc.RunAsync(f.Args(["query", "aggregates"], "--type", "heart-rate", "--bucket", "hour", "--functions", "min,max", "--from", At(ReadFixture.Origin), "--to", At(ReadFixture.Origin.AddHours(1)), "--format", "csv")))
            .Succeeded().Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(ReadFixture.Steps.Sum(s => s.Steps), steps.GetProperty("sum").GetDouble());
        Assert.Equal(ReadFixture.Steps.Count, steps.GetProperty("count").GetInt64());
        Assert.StartsWith($"{day}T00:00:00.000+0", steps.GetProperty("start").GetString(), StringComparison.Ordinal);
        Assert.Equal("Watch", steps.GetProperty("sourceKind").GetString());
        // The rollups count the series' points like the discrete samples.
        var bpm = ReadFixture.HeartRates.Select(s => s.Bpm).Concat(ReadFixture.SeriesBpm).ToList();
        var bucket = Assert.Single(heart[1..]).Split(',');
        Assert.Equal((bpm.Count.ToString(CultureInfo.InvariantCulture), "", "", bpm.Min().ToString(CultureInfo.InvariantCulture), bpm.Max().ToString(CultureInfo.InvariantCulture)), (bucket[2], bucket[3], bucket[4], bucket[5], bucket[6]));
    }

    [Fact]
    public async Task QueryAggregates_OfSleep_TotalsTheDurationPerStage()
    {
        using var f = await ReadFixture.StartAsync();

        var night = (await Healthgrpc.RunAsync(f.Args(["query", "aggregates"], "--type", "sleep-analysis", "--bucket", "hour", "--functions", "duration,count",
                "--from", At(ReadFixture.Origin.AddHours(-8)), "--to", At(ReadFixture.Origin.AddHours(-7)), "--format", "csv")))
            .Succeeded().Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.EndsWith(",categories", night[0], StringComparison.Ordinal);
        Assert.EndsWith($",{(int)HealthGrpc.Contracts.V1.SleepStage.Rem}:3600000/1", Assert.Single(night[1..]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryChanges_ListsEveryCommittedItemInSequence_AndTheTokenResumesAfterThem()
    {
        using var f = await ReadFixture.StartAsync();

        var page = (await Healthgrpc.RunAsync(f.Args(["query", "changes"], "--format", "json"))).Succeeded().Json();
        var after = (await Healthgrpc.RunAsync(f.Args(["query", "changes"], "--since-token", page.GetProperty("nextPageToken").GetString()!, "--format", "json"))).Succeeded().Json();
        var steps = (await Healthgrpc.RunAsync(f.Args(["query", "changes"], "--types", "steps", "--format", "json"))).Succeeded().Json();

        var changes = page.GetProperty("rows").EnumerateArray().ToList();
        var discrete = ReadFixture.HeartRates.Count + ReadFixture.Steps.Count + 1;
        Assert.Equal(discrete, changes.Count(c => c.GetProperty("change").GetString() == "sample"));
        Assert.Equal($"{ReadFixture.SeriesBpm.Count} points", Assert.Single(changes, c => c.GetProperty("change").GetString() == "series").GetProperty("detail").GetString());
        var sequences = changes.Select(c => c.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(sequences.Order(), sequences);
        Assert.Equal(sequences.Count, sequences.Distinct().Count());
        Assert.Empty(after.GetProperty("rows").EnumerateArray());
        Assert.Equal(ReadFixture.Steps.Select(s => s.Uuid.ToString()), steps.GetProperty("rows").EnumerateArray().Select(c => c.GetProperty("uuid").GetString()));
    }

    [Theory]
    [InlineData("samples", "--types", "hart", "--types hart: not a data type")]
    [InlineData("samples", "--zone", "Mars/Olympus", "--zone Mars/Olympus: not an IANA time zone")]
    [InlineData("samples", "--from", "yesterday", "--from yesterday: expected an instant")]
    [InlineData("samples", "--sources", "toaster", "--sources toaster: not a device kind")]
    [InlineData("samples", "--page-size", "0", "--page-size 0: expected 1..10000")]
    [InlineData("aggregates", "--bucket", "fortnight", "--bucket fortnight: expected hour, day, week or month")]
    [InlineData("aggregates", "--functions", "median", "--functions median: expected sum, avg, min, max, count, latest or duration")]
    [InlineData("changes", "--types", "steps,hart", "--types hart: not a data type")]
    public async Task Query_BadOption_ExitsOneNamingIt_BeforeCallingTheServer(string verb, string option, string value, string message)
    {
        string[] type = verb == "aggregates" ? ["--type", "steps"] : [];
        var run = await Healthgrpc.RunAsync(["query", verb, .. type, option, value, "--server", "http://127.0.0.1:1", "--token", "t"]);

        Assert.Equal((1, ""), (run.ExitCode, run.Stdout));
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_ToBeforeFrom_AndAServerRefusal_ExitOneWithTheReason()
    {
        using var f = await ReadFixture.StartAsync();

        var backwards = await Healthgrpc.RunAsync(f.Args(Samples, "--from", "1h", "--to", "2h"));
        var refused = await Healthgrpc.RunAsync([.. Samples, "--server", f.Server.Address.ToString(), "--token", "not-a-token"]);
        var noGrant = await Healthgrpc.RunAsync(f.Args(Samples, "--owner", "bob"));

        Assert.Equal(1, backwards.ExitCode);
        Assert.Contains("--to 2h is not after --from 1h", backwards.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("refused the token", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, noGrant.ExitCode);
        Assert.Contains("PermissionDenied", noGrant.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("samples", "--page-token")]
    [InlineData("aggregates", "--bucket")]
    [InlineData("changes", "--since-token")]
    public async Task QueryHelp_ListsItsOptions(string verb, string own)
    {
        var help = (await Healthgrpc.RunAsync("query", verb, "--help")).Succeeded().Stdout;

        foreach (var option in new[] { "--server", "--token", "--owner", "--zone", "--format", own })
        {
            Assert.Contains(option, help, StringComparison.Ordinal);
        }
    }
}
