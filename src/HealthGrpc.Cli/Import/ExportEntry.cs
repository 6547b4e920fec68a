namespace HealthGrpc.Cli.Import;

/// <summary>
/// A Record or Workout element of export.xml as written, before mapping. <see cref="Ordinal"/> is its position among the
/// export's Records and Workouts (nested ones included): the import's anchors are these positions.
/// </summary>
internal sealed class ExportEntry
{
    public required long Ordinal { get; init; }

    /// <summary>True for a Workout element, false for a Record.</summary>
    public bool IsWorkout { get; init; }

    /// <summary>The Record's type attribute, or the Workout's workoutActivityType.</summary>
    public string? Type { get; init; }

    public string? SourceName { get; init; }

    public string? SourceVersion { get; init; }

    public string? Device { get; init; }

    public string? Unit { get; init; }

    public string? CreationDate { get; init; }

    public string? StartDate { get; init; }

    public string? EndDate { get; init; }

    public string? Value { get; init; }

    /// <summary>Workout attributes kept as metadata (duration, totals), as "value unit".</summary>
    public List<KeyValuePair<string, string>> Attributes { get; } = [];

    /// <summary>MetadataEntry children (key, value).</summary>
    public List<KeyValuePair<string, string>> Metadata { get; } = [];

    /// <summary>InstantaneousBeatsPerMinute children of an HRV record's HeartRateVariabilityMetadataList, in document order.</summary>
    public List<ExportBeat> Beats { get; } = [];

    /// <summary>Child elements the protocol cannot carry through the SDK, by element name, with how many.</summary>
    public Dictionary<string, int> NestedUnsupported { get; } = new(StringComparer.Ordinal);
}
