namespace HealthGrpc.Server.Ingest;

/// <summary>
/// The wire path of a field, e.g. <c>sample_sets[0].samples[12].start_offset_ms</c>, for refusal messages. A value type
/// rendered only when a message is built: validation names fields on its hot path without allocating a string per sample.
/// </summary>
internal readonly record struct FieldPath(string Collection, int Index, string? Inner = null, int InnerIndex = 0, string? Member = null)
{
    /// <summary>The same item with a member appended (<c>.start_time</c>, <c> first point</c>).</summary>
    public FieldPath With(string member) => this with { Member = member };

    public override string ToString() =>
        Inner is null ? $"{Collection}[{Index}]{Member}" : $"{Collection}[{Index}]{Inner}[{InnerIndex}]{Member}";
}
