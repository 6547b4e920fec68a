using System.Diagnostics;
using HealthGrpc.Cli.Tests.Infrastructure;

namespace HealthGrpc.Cli.Tests.Import;

public sealed class ImportCommandTests
{
    /// <summary>Summary rows of the protocol's types, by DataType number (data_type.proto), as the import names them.</summary>
    private static readonly Dictionary<int, string> Rows = new()
    {
        [1] = "HKQuantityTypeIdentifierHeartRate",
        [2] = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN",
        [3] = "HKQuantityTypeIdentifierRestingHeartRate",
        [4] = "HKQuantityTypeIdentifierStepCount",
        [5] = "HKQuantityTypeIdentifierDistanceWalkingRunning",
        [6] = "HKQuantityTypeIdentifierActiveEnergyBurned",
        [7] = "HKQuantityTypeIdentifierBasalEnergyBurned",
        [8] = "HKQuantityTypeIdentifierAppleExerciseTime",
        [9] = "HKCategoryTypeIdentifierSleepAnalysis",
        [11] = "HKQuantityTypeIdentifierOxygenSaturation",
        [12] = "HKQuantityTypeIdentifierBloodPressureSystolic",
        [13] = "HKQuantityTypeIdentifierBloodPressureDiastolic",
        [14] = "HKQuantityTypeIdentifierBodyMass",
        [16] = "HKQuantityTypeIdentifierBloodGlucose",
        [17] = "HKQuantityTypeIdentifierRespiratoryRate",
        [18] = "HKWorkout",
    };

    private const string BeatRow = "InstantaneousBeatsPerMinute";

    [Fact]
    public async Task Import_StoresEveryDistinctSample_TheSummaryMatchesTheStore_AndASecondImportStoresNothing()
    {
        using var f = await ImportFixture.StartAsync();
        var export = new AppleHealthExport(ImportFixture.Origin, "2026-11-30 10:00:00 +0100").AddDays(0, 20);
        var path = export.WriteXml(f.File("export.xml"));

        var summary = new ImportSummaryJson((await Healthgrpc.RunAsync(f.ImportArgs(path, "--json"))).Succeeded().Json());

        var stored = f.StoredByType();
        Assert.Equal(export.DistinctSamples.OrderBy(p => p.Key), stored.OrderBy(p => p.Key));
        foreach (var (type, row) in Rows)
        {
            Assert.Equal(stored[type], summary.Get(row, "stored"));
            Assert.Equal(summary.Get(row, "sent"), summary.Get(row, "stored") + summary.Get(row, "duplicates") + summary.Get(row, "rejected"));
        }

        Assert.Equal(export.Entries, Rows.Values.Sum(row => summary.Get(row, "read")) + summary.Get("HKQuantityTypeIdentifierEnvironmentalAudioExposure", "read") + summary.Get("HKCategoryTypeIdentifierMindfulSession", "read"));
        Assert.Equal(export.Repeats, summary.Sum("duplicates"));
        Assert.Equal(export.OutOfRange, summary.Reason(Rows[1], "rejectedReasons", "server: ValueOutOfRange"));
        Assert.Equal(export.OutOfRange, summary.Sum("rejected"));
        Assert.Equal(export.UnknownTypeRecords, summary.Get("HKQuantityTypeIdentifierEnvironmentalAudioExposure", "unsupported") + summary.Get("HKCategoryTypeIdentifierMindfulSession", "unsupported"));
        // Every HRV record's beats as one heart-rate series, counted on a row of their own (not on the HRV row above).
        Assert.Equal((export.BeatSeries, export.BeatsPerMinute), f.StoredSeries());
        Assert.Equal((export.BeatSeries, export.BeatSeries, export.BeatSeries, 0L), (summary.Get(BeatRow, "read"), summary.Get(BeatRow, "sent"), summary.Get(BeatRow, "stored"), summary.Get(BeatRow, "rejected")));
        Assert.Equal(export.ActivitySummaries, summary.Get("ActivitySummary", "unsupported"));
        Assert.Equal(export.WorkoutStatistics, summary.Get("WorkoutStatistics", "unsupported"));
        Assert.Equal(0, f.ContentDuplicates());

        var again = new ImportSummaryJson((await Healthgrpc.RunAsync(f.ImportArgs(path, "--json"))).Succeeded().Json());

        Assert.Equal(0, again.Sum("sent"));
        Assert.Equal(0, again.Sum("stored"));
        foreach (var row in Rows.Values.Append(BeatRow))
        {
            Assert.Equal(again.Get(row, "read") - again.Get(row, "rejected"), again.Get(row, "alreadyImported"));
        }

        Assert.Equal(stored, f.StoredByType());
        Assert.Equal((export.BeatSeries, export.BeatsPerMinute), f.StoredSeries());
    }

    [Fact]
    public async Task Import_KilledMidway_ResumesWhereItStopped_AndStoresEachDistinctSampleOnce()
    {
        using var f = await ImportFixture.StartAsync();
        var export = new AppleHealthExport(ImportFixture.Origin, "2026-11-30 10:00:00 +0100").AddDays(0, 150);
        var path = export.WriteXml(f.File("export.xml"));
        var total = export.DistinctSamples.Values.Sum();

        using (var first = Healthgrpc.Start(f.ImportArgs(path, "--json")))
        {
            _ = first.StandardOutput.ReadToEndAsync();
            _ = first.StandardError.ReadToEndAsync();
            var killedAt = await StoredWhenAsync(f, n => n > 0, first);
            first.Kill(); // SIGKILL: no chance to finish a write or flush anything
            await first.WaitForExitAsync().Bounded();
            Assert.True(killedAt < total, $"the import finished ({killedAt} of {total} stored) before it could be killed");
        }

        var resumed = new ImportSummaryJson((await Healthgrpc.RunAsync(f.ImportArgs(path, "--json"))).Succeeded().Json());

        Assert.True(resumed.Sum("alreadyImported") > 0, "the second run re-sent everything instead of resuming from the anchors");
        Assert.Equal(export.DistinctSamples.OrderBy(p => p.Key), f.StoredByType().OrderBy(p => p.Key));
        Assert.Equal(0, f.ContentDuplicates());
        Assert.Equal((export.BeatSeries, export.BeatsPerMinute), f.StoredSeries());

        var again = new ImportSummaryJson((await Healthgrpc.RunAsync(f.ImportArgs(path, "--json"))).Succeeded().Json());
        Assert.Equal(0, again.Sum("sent"));
        Assert.Equal(export.DistinctSamples.OrderBy(p => p.Key), f.StoredByType().OrderBy(p => p.Key));
    }

    [Fact]
    public async Task Import_OfAZip_ThenOfANewerExportOfTheSamePhone_StoresOnlyTheNewSamples()
    {
        using var f = await ImportFixture.StartAsync();
        var older = new AppleHealthExport(ImportFixture.Origin, "2026-10-01 09:00:00 +0100").AddDays(0, 10);
        var newer = new AppleHealthExport(ImportFixture.Origin, "2026-11-30 10:00:00 +0100", addressSeed: 7_000).AddDays(0, 15);
        (await Healthgrpc.RunAsync(f.ImportArgs(older.WriteZip(f.File("export.zip")), "--json"))).Succeeded();
        Assert.Equal(older.DistinctSamples.OrderBy(p => p.Key), f.StoredByType().OrderBy(p => p.Key));

        var summary = new ImportSummaryJson((await Healthgrpc.RunAsync(f.ImportArgs(newer.WriteXml(f.File("export.xml")), "--json"))).Succeeded().Json());

        Assert.Equal(newer.DistinctSamples.OrderBy(p => p.Key), f.StoredByType().OrderBy(p => p.Key));
        foreach (var (type, row) in Rows)
        {
            Assert.Equal(newer.DistinctSamples[type] - older.DistinctSamples[type], summary.Get(row, "stored"));
        }

        // The older export's beat series come again in the newer one with the same content uuids: duplicates, not new series.
        Assert.Equal(older.DistinctSamples.Values.Sum() + older.BeatSeries + newer.Repeats, summary.Sum("duplicates"));
        Assert.Equal((newer.BeatSeries - older.BeatSeries, older.BeatSeries), (summary.Get(BeatRow, "stored"), summary.Get(BeatRow, "duplicates")));
        Assert.Equal((newer.BeatSeries, newer.BeatsPerMinute), f.StoredSeries());
        Assert.Equal(0, f.ContentDuplicates());
    }

    [Fact]
    public async Task Import_OfATruncatedExport_SendsWhatItRead_AndExitsOneNamingTheLine()
    {
        using var f = await ImportFixture.StartAsync();
        var xml = new AppleHealthExport(ImportFixture.Origin, "2026-11-30 10:00:00 +0100").AddDays(0, 3).Xml();
        var path = f.File("export.xml");
        await File.WriteAllTextAsync(path, xml[..(xml.Length * 2 / 3)]);

        var run = await Healthgrpc.RunAsync(f.ImportArgs(path));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("the export is not well-formed XML", run.Stderr, StringComparison.Ordinal);
        Assert.Matches("Line [0-9]+, position [0-9]+", run.Stderr);
        Assert.Contains(Rows[1], run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_WithARevokedOrWrongToken_ExitsOne_NamingTheToken()
    {
        using var f = await ImportFixture.StartAsync();
        var path = new AppleHealthExport(ImportFixture.Origin, "2026-11-30 10:00:00 +0100").AddDays(0, 1).WriteXml(f.File("export.xml"));
        string[] args = [.. f.ImportArgs(path)];
        args[Array.IndexOf(args, f.Token)] = "hgt_" + new string('x', 43);

        var run = await Healthgrpc.RunAsync(args);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("UNAUTHENTICATED", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(f.StoredByType());
    }

    /// <summary>Polls the store until <paramref name="condition"/> holds for the stored count (or the process ended), returns the count.</summary>
    private static async Task<int> StoredWhenAsync(ImportFixture f, Func<int, bool> condition, Process process)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < Timeouts.Default)
        {
            var n = f.StoredByType().Values.Sum();
            if (condition(n) || process.HasExited)
            {
                return n;
            }

            await Task.Delay(5);
        }

        throw new TimeoutException("no sample was stored within the timeout");
    }
}
