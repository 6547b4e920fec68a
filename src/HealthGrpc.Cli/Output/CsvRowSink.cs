using System.Text;

namespace HealthGrpc.Cli.Output;

/// <summary>RFC 4180 CSV with a header row (a query prints where the next page starts on stderr, so stdout stays pure CSV).</summary>
internal sealed class CsvRowSink : RowSink
{
    private readonly StreamWriter _writer;

    public CsvRowSink(IReadOnlyList<string> columns, Stream output)
        : base(columns)
    {
        _writer = new StreamWriter(output, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\r\n" };
        WriteLine(columns);
    }

    public override void Write(IReadOnlyList<object?> row) => WriteLine(row.Select(Text));

    public override Task FlushAsync(CancellationToken ct) => _writer.FlushAsync(ct);

    public override async Task CompleteAsync(string? nextPageToken, CancellationToken ct)
    {
        await _writer.FlushAsync(ct).ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync() => await _writer.DisposeAsync().ConfigureAwait(false);

    private void WriteLine(IEnumerable<string> fields) => _writer.WriteLine(string.Join(',', fields.Select(Quote)));

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
