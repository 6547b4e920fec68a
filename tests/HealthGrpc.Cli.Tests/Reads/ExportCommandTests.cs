using System.Text.Json;
using HealthGrpc.Cli.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace HealthGrpc.Cli.Tests.Reads;

public sealed class ExportCommandTests
{
    [Fact]
    public async Task ExportFhir_AcrossPages_IsABundleFirelyParses_WithLoincCodesUcumUnitsAndTimes_AndListsSleepAsSkipped()
    {
        using var f = await ReadFixture.StartAsync();
        using var directory = new TempStore();
        var file = Path.Combine(Path.GetDirectoryName(directory.Path)!, "export.fhir.json");

        var run = (await Healthgrpc.RunAsync(f.Args(["export", "fhir"], "--output", file, "--page-size", "2", "--owner", "alice"))).Succeeded();

        // The strict Firely deserializer: an unknown element, a wrong type or a bad value fails the parse.
        var bundle = JsonSerializer.Deserialize<Bundle>(await File.ReadAllTextAsync(file), new JsonSerializerOptions().ForFhir())!;
        var observations = bundle.Entry.Select(e => Assert.IsType<Observation>(e.Resource)).ToList();
        Assert.Equal(Bundle.BundleType.Collection, bundle.Type);
        // Every discrete sample but the sleep one, and the regular series as one Observation.
        var entries = ReadFixture.HeartRates.Count + ReadFixture.Steps.Count + 1;
        Assert.Equal(entries, observations.Count);

        var heart = observations.Where(o => o.Code.Coding.Single().Code == "8867-4").ToList();
        Assert.Equal(ReadFixture.HeartRates.Count + 1, heart.Count);
        foreach (var (uuid, second, bpm) in ReadFixture.HeartRates)
        {
            var o = Assert.Single(heart, o => o.Identifier.Single().Value == $"urn:uuid:{uuid}");
            var value = Assert.IsType<Quantity>(o.Value);
            Assert.Equal(("http://loinc.org", (decimal?)bpm, "http://unitsofmeasure.org", "/min"), (o.Code.Coding.Single().System, value.Value, value.System, value.Code));
            Assert.Equal(ReadFixture.Origin.AddSeconds(second), Assert.IsType<FhirDateTime>(o.Effective).ToDateTimeOffset(TimeSpan.Zero));
            Assert.Equal(("vital-signs", ObservationStatus.Final, "alice"), (o.Category.Single().Coding.Single().Code, o.Status, o.Subject!.Identifier!.Value));
        }

        // The 1 Hz series: its points as SampledData, in the stored integers, at its period, over its span.
        var series = Assert.Single(heart, o => o.Identifier.Single().Value == $"urn:uuid:{ReadFixture.SeriesUuid}");
        var sampled = Assert.IsType<SampledData>(series.Value);
        Assert.Equal((string.Join(' ', ReadFixture.SeriesBpm), 1000m, 1m, 1), (sampled.Data, sampled.Period, sampled.Factor, sampled.Dimensions));
        Assert.Equal((0m, "http://unitsofmeasure.org", "/min"), (sampled.Origin.Value, sampled.Origin.System, sampled.Origin.Code));
        var span = Assert.IsType<Period>(series.Effective);
        var seriesStart = ReadFixture.Origin.AddMinutes(30);
        Assert.Equal((seriesStart, seriesStart.AddSeconds(ReadFixture.SeriesBpm.Count - 1)), (span.StartElement!.ToDateTimeOffset(TimeSpan.Zero), span.EndElement!.ToDateTimeOffset(TimeSpan.Zero)));

        var steps = observations.Where(o => o.Code.Coding.Single().Code == "55423-8").ToList();
        Assert.Equal(ReadFixture.Steps.Count, steps.Count);
        foreach (var (uuid, minute, minutes, count) in ReadFixture.Steps)
        {
            var o = Assert.Single(steps, o => o.Identifier.Single().Value == $"urn:uuid:{uuid}");
            var period = Assert.IsType<Period>(o.Effective);
            var value = Assert.IsType<Quantity>(o.Value);
            Assert.Equal(((decimal?)count, "{steps}"), (value.Value, value.Code));
            Assert.Equal((ReadFixture.Origin.AddMinutes(minute), ReadFixture.Origin.AddMinutes(minute + minutes)), (period.StartElement!.ToDateTimeOffset(TimeSpan.Zero), period.EndElement!.ToDateTimeOffset(TimeSpan.Zero)));
        }

        Assert.DoesNotContain(observations, o => o.Identifier.Single().Value == $"urn:uuid:{ReadFixture.SleepUuid}");
        Assert.Matches(@"SleepAnalysis\s*[│|]\s*0\s*[│|]\s*1\s*[│|]\s*no LOINC code \(1\)", run.Stderr);
        Assert.Contains($"{entries} written to {file}, 1 skipped.", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(file + ".partial"));
    }

    [Fact]
    public async Task ExportCsvAndJson_ToStdout_StreamEveryPage_WithEveryItemOnce()
    {
        using var f = await ReadFixture.StartAsync();

        var csv = (await Healthgrpc.RunAsync(f.Args(["export", "csv"], "--page-size", "2"))).Succeeded();
        var json = (await Healthgrpc.RunAsync(f.Args(["export", "json"], "--page-size", "3", "--types", "heart-rate,steps"))).Succeeded().Json();

        var lines = csv.Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(ReadFixture.Items + 1, lines.Length);
        Assert.Equal(lines.Length - 1, lines.Skip(1).Distinct().Count());
        Assert.Contains($"{ReadFixture.Items} written to stdout, 0 skipped.", csv.Stderr, StringComparison.Ordinal);
        var rows = json.EnumerateArray().ToList();
        Assert.Equal(ReadFixture.Items - 1, rows.Count);
        Assert.Equal(
            ReadFixture.Steps.Sum(s => s.Steps),
            rows.Where(r => r.GetProperty("type").GetString() == "Steps").Sum(r => r.GetProperty("value").GetDouble()));
        Assert.Equal(
            rows.Select(r => r.GetProperty("start").GetString()).Order(StringComparer.Ordinal),
            rows.Select(r => r.GetProperty("start").GetString()));
    }

    [Fact]
    public async Task Export_AServerRefusal_ExitsOne_AndLeavesNoFile()
    {
        using var f = await ReadFixture.StartAsync();
        using var directory = new TempStore();
        var file = Path.Combine(Path.GetDirectoryName(directory.Path)!, "out.json");

        var run = await Healthgrpc.RunAsync("export", "fhir", "--output", file, "--server", f.Server.Address.ToString(), "--token", "not-a-token");
        var help = (await Healthgrpc.RunAsync("export", "fhir", "--help")).Succeeded().Stdout;

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("refused the token", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(file) || File.Exists(file + ".partial"));
        foreach (var option in new[] { "--server", "--token", "--owner", "--types", "--sources", "--from", "--to", "--zone", "--output", "--page-size" })
        {
            Assert.Contains(option, help, StringComparison.Ordinal);
        }
    }
}
