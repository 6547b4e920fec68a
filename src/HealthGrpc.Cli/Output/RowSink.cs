namespace HealthGrpc.Cli.Output;

/// <summary>
/// Where the rows of a read verb go, one at a time. Values are strings, numbers, instants (already in the zone to print)
/// or null; each format renders them its way (a table for people, CSV or JSON for scripts).
/// </summary>
internal abstract class RowSink : IAsyncDisposable
{
    protected RowSink(IReadOnlyList<string> columns) => Columns = columns;

    protected IReadOnlyList<string> Columns { get; }

    public static RowSink Create(OutputFormat format, IReadOnlyList<string> columns, Stream output, bool envelope) => format switch
    {
        OutputFormat.Csv => new CsvRowSink(columns, output),
        OutputFormat.Json => new JsonRowSink(columns, output, envelope),
        _ => new TableRowSink(columns),
    };

    public abstract void Write(IReadOnlyList<object?> row);

    /// <summary>Writes what is buffered (a page's rows), so a long export streams instead of holding them.</summary>
    public abstract Task FlushAsync(CancellationToken ct);

    /// <summary>Ends the output; <paramref name="nextPageToken"/> (null: none) goes into the JSON envelope, where scripts read it.</summary>
    public abstract Task CompleteAsync(string? nextPageToken, CancellationToken ct);

    public abstract ValueTask DisposeAsync();

    protected static string Text(object? value) => value switch
    {
        null => "",
        DateTimeOffset time => time.ToString(time.Offset == TimeSpan.Zero ? "yyyy-MM-dd'T'HH:mm:ss.fff'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable number => number.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
