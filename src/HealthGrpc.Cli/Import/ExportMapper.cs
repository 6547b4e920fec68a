using System.Globalization;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Import;

/// <summary>A sample ready for a <see cref="SampleSet"/>: its set's header fields and the sample (start offset set when grouped).</summary>
internal sealed record PendingSample(long Ordinal, DataType Type, string Unit, Source Source, int ZoneOffsetMinutes, long StartUnixMs, Sample Sample);

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

    /// <summary>The sample of <paramref name="entry"/>, or null when it is not sent (counted with its reason).</summary>
    public PendingSample? Map(ExportEntry entry)
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
                return null;
            }

            mapping = found;
        }

        if (!HealthKitTime.TryParse(entry.StartDate, out var start) || !HealthKitTime.TryParse(entry.EndDate, out var end))
        {
            rowTally.AddRejected("not sent: startDate/endDate is not 'yyyy-MM-dd HH:mm:ss ±hhmm'");
            return null;
        }

        if (end < start)
        {
            rowTally.AddRejected("not sent: endDate is before startDate");
            return null;
        }

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
                return null;
            }

            sample.Category = (int)stage;
        }
        else
        {
            if (!double.TryParse(entry.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                rowTally.AddRejected($"not sent: value '{entry.Value}' is not a number");
                return null;
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
        var source = _sources.Get(entry.SourceName, entry.SourceVersion, entry.Device);
        return new PendingSample(entry.Ordinal, type, unit, source, (int)start.Offset.TotalMinutes, start.ToUnixTimeMilliseconds(), sample);
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
                "InstantaneousBeatsPerMinute" => "a beat-to-beat series: not imported yet (the SDK can send a Series, this import does not build one); the HRV sample itself is imported",
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
