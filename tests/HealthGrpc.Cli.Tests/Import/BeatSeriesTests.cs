using HealthGrpc.Cli.Import;
using HealthGrpc.Client;
using SampleUuid = HealthGrpc.Contracts.SampleUuid;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Tests.Import;

/// <summary>The beats of an HRV record as a series: times of day on the record's date, and a uuid from the content alone.</summary>
public sealed class BeatSeriesTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 23, 59, 58, TimeSpan.FromHours(-5));
    private static readonly Source Watch = new() { Name = "Alice’s Apple Watch", Manufacturer = "Apple Inc.", Model = "Watch" };

    [Fact]
    public void Beats_after_local_midnight_are_on_the_next_date_in_12_and_24_hour_forms()
    {
        foreach (var times in new[] { new[] { "11:59:58.50 PM", "12:00:00.10 AM" }, ["23:59:58.5", "0:00:00.1"] })
        {
            var series = Assert.Single(BeatSeries.TryBuild([new ExportBeat("61", times[0]), new ExportBeat("63.5", times[1])], Start, Watch, out var error)!);

            Assert.Null(error);
            Assert.Equal((DataType.HeartRate, -300), (series.Type, series.ZoneOffsetMinutes));
            Assert.Equal(
                [new SeriesPoint(Start.AddMilliseconds(500), 61), new SeriesPoint(Start.AddMilliseconds(2100), 63.5)],
                SeriesEncoder.Decode(series).Select(p => p with { Time = p.Time.ToOffset(Start.Offset) }));
        }
    }

    [Fact]
    public void The_uuid_depends_on_the_content_not_on_the_export()
    {
        ExportBeat[] beats = [new("61", "11:59:58.50 PM"), new("62", "11:59:59.50 PM")];
        Guid Uuid(IReadOnlyList<ExportBeat> b, Source source) => SampleUuid.ToGuid(BeatSeries.TryBuild(b, Start, source, out _)![0].Uuid);

        // The same beats from another export of the phone (another HKDevice address, another app version): the same uuid.
        Assert.Equal(Uuid(beats, Watch), Uuid(beats, new Source(Watch) { SoftwareVersion = "11.0" }));
        Assert.NotEqual(Uuid(beats, Watch), Uuid([beats[0], new("63", "11:59:59.50 PM")], Watch));
        Assert.NotEqual(Uuid(beats, Watch), Uuid(beats, new Source(Watch) { Name = "Bob’s Apple Watch" }));
    }

    [Theory]
    [InlineData("sixty", "11:59:58 PM", "beat bpm 'sixty' is not a number")]
    [InlineData("61", "25:00:00", "beat time '25:00:00' is not a time of day")]
    [InlineData("61", "11:59:57 PM", "beat time '11:59:57 PM' is before the beat written before it")]
    public void A_bad_beat_leaves_the_series_unsent_naming_the_beat(string bpm, string time, string reason)
    {
        var parts = BeatSeries.TryBuild([new ExportBeat("60", "11:59:58 PM"), new ExportBeat(bpm, time)], Start, Watch, out var error);

        Assert.Null(parts);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
