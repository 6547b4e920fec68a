using System.Globalization;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Import;

/// <summary>A sample ready for a <see cref="SampleSet"/>: its set's header fields and the sample (start offset set when grouped).</summary>
internal sealed record PendingSample(long Ordinal, DataType Type, string Unit, Source Source, int ZoneOffsetMinutes, long StartUnixMs, Sample Sample);

/// <summary>
/// The beat series of the HRV record at <paramref name="Ordinal"/> (see <see cref="BeatSeries"/>): it travels with its
/// record's type and anchor, <paramref name="Type"/>, so resuming after that anchor skips both.
/// </summary>
internal sealed record PendingSeries(long Ordinal, DataType Type, IReadOnlyList<Series> Parts);

/// <summary>What one export entry becomes: its sample, and for an HRV record with beats, their series.</summary>
internal readonly record struct MappedEntry(PendingSample? Sample, PendingSeries? Beats);

/// <summary>
/// Maps export entries to samples. The samples carry no uuid: the server derives the protocol's content id (type, times,
/// canonical value, unit, source name, manufacturer, model), so the same reading in a later export of the same phone is a
/// duplicate, not a second sample. What cannot be sent is counted in the tally with its reason.
/// </summary>
internal sealed class ExportMapper(ImportTally tally)
{
    private const int MaxMetadataEntries = 16; // Sample.metadata's documented bound
    private readonly SourceCache _sources = new();

    /// <summary>The row of an entry in the summary (its HealthKit identifier).</summary>
    public static string RowOf(ExportEntry entry) => entry.IsWorkout ? HealthKitTypes.Workout : entry.Type ?? "(Record without type)";

    /// <summary>The sample and beat series of <paramref name="entry"/>; null for what is not sent (counted with its reason).</summary>
    public MappedEntry Map(ExportEntry entry)
    {
        var row = RowOf(entry);
        var rowTally = tally[row];
        rowTally.AddRead();
        CountNested(entry);
        HealthKitMapping? mapping = null;
        if (!entry.IsWorkout)
        {
            if (entry.Type is null || !HealthKitTypes.TryGetRecord(entry.Type, out var found))
            {
                rowTally.AddUnsupported("no data type of the protocol for this HealthKit type");
                CountBeats(entry, "not sent: its record's type is not imported");
                return default;
            }

            mapping = found;
        }

        if (!HealthKitTime.TryParse(entry.StartDate, out var start) || !HealthKitTime.TryParse(entry.EndDate, out var end))
        {
            rowTally.AddRejected("not sent: startDate/endDate is not 'yyyy-MM-dd HH:mm:ss ±hhmm'");
            CountBeats(entry, "not sent: its record's startDate/endDate is not valid");
            return default;
        }

        if (end < start)
        {
            rowTally.AddRejected("not sent: endDate is before startDate");
            CountBeats(entry, "not sent: its record's endDate is before its startDate");
            return default;
        }

        var source = _sources.Get(entry.SourceName, entry.SourceVersion, entry.Device);
        var beats = MapBeats(entry, mapping, start, source);

        var sample = new Sample { DurationMs = (ulong)(end - start).TotalMilliseconds };
        var unit = string.Empty;
        if (entry.IsWorkout)
        {
            sample.Category = entry.Type is not null && HealthKitTypes.TryGetWorkoutActivity(entry.Type, out var code) ? code : HealthKitTypes.OtherWorkoutActivity;
            Add(sample, "HKWorkoutActivityType", entry.Type ?? string.Empty);
            foreach (var attribute in entry.Attributes)
            {
                Add(sample, attribute.Key, attribute.Value);
            }
        }
        else if (mapping!.Type == DataType.SleepAnalysis)
        {
            if (entry.Value is null || !HealthKitTypes.TryGetSleepStage(entry.Value, out var stage))
            {
                rowTally.AddRejected($"not sent: sleep value '{entry.Value}' is not an HKCategoryValueSleepAnalysis value");
                return new MappedEntry(null, beats);
            }

            sample.Category = (int)stage;
        }
        else
        {
            if (!double.TryParse(entry.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                rowTally.AddRejected($"not sent: value '{entry.Value}' is not a number");
                return new MappedEntry(null, beats);
            }

            sample.DoubleValue = value;
            unit = HealthKitTypes.ServerUnit(entry.Unit ?? string.Empty, mapping);
        }

        foreach (var pair in entry.Metadata)
        {
            Add(sample, pair.Key, pair.Value);
        }

        if (entry.CreationDate is { } created)
        {
            Add(sample, "creationDate", created);
        }

        var type = entry.IsWorkout ? DataType.Workout : mapping!.Type;
        return new MappedEntry(new PendingSample(entry.Ordinal, type, unit, source, (int)start.Offset.TotalMinutes, start.ToUnixTimeMilliseconds(), sample), beats);
    }

    /// <summary>The beats of an HRV record as its series, counted on their own row (one item per record); null when there are none or they are bad.</summary>
    private PendingSeries? MapBeats(ExportEntry entry, HealthKitMapping? mapping, DateTimeOffset start, Source source)
    {
        if (entry.Beats.Count == 0)
        {
            return null;
        }

        var row = tally[BeatSeries.Row];
        row.AddRead();
        if (BeatSeries.TryBuild(entry.Beats, start, source, out var error) is not { } parts)
        {
            row.AddRejected(error!);
            return null;
        }

        // A workout has no beats (only HRV records do); the record's own type carries them, with its anchor.
        return new PendingSeries(entry.Ordinal, mapping?.Type ?? DataType.Workout, parts);
    }

    private void CountBeats(ExportEntry entry, string reason)
    {
        if (entry.Beats.Count > 0)
        {
            tally[BeatSeries.Row].AddRead();
            tally[BeatSeries.Row].AddRejected(reason);
        }
    }

    /// <summary>Metadata beyond the protocol's 16 entries is not sent (it would reject the sample): the first ones are kept.</summary>
    private static void Add(Sample sample, string key, string value)
    {
        if (sample.Metadata.Count < MaxMetadataEntries)
        {
            sample.Metadata[key] = value;
        }
    }

    private void CountNested(ExportEntry entry)
    {
        foreach (var (element, count) in entry.NestedUnsupported)
        {
            tally.Unsupported(element, element switch
            {
                "WorkoutStatistics" => "a workout's statistics summarise samples imported on their own (the Workout is imported as a workout sample, its totals in metadata)",
                "WorkoutEvent" => "workout events (pause, lap, segment) have no kind in the protocol",
                "WorkoutRoute" => "a route is a GPX file beside export.xml, not a sample",
                _ => $"the protocol has no kind for <{element}> inside a {(entry.IsWorkout ? "Workout" : "Record")}",
            }, count);
        }
    }

    /// <summary>One <see cref="Source"/> per distinct source and device: sample sets group by it (reference equality), memory stays bounded.</summary>
    private sealed class SourceCache
    {
        private const int MaxEntries = 4096;
        private readonly Dictionary<(string?, string?, string?), Source> _sources = [];

        public Source Get(string? name, string? version, string? device)
        {
            if (_sources.TryGetValue((name, version, device), out var source))
            {
                return source;
            }

            if (_sources.Count >= MaxEntries)
            {
                _sources.Clear();
            }

            source = DeviceDescription.ToSource(name, version, device);
            _sources[(name, version, device)] = source;
            return source;
        }
    }
}
