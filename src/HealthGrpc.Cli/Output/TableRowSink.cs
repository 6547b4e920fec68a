using HealthGrpc.Cli.Shared;
using Spectre.Console;

namespace HealthGrpc.Cli.Output;

/// <summary>A Spectre table on stdout, drawn when complete (a query prints one page, so it holds at most a page of rows).</summary>
internal sealed class TableRowSink(IReadOnlyList<string> columns) : RowSink(columns)
{
    private readonly Table _table = new Table().AddColumns(columns.Select(name => new TableColumn(Markup.Escape(name))).ToArray());

    public override void Write(IReadOnlyList<object?> row) => _table.AddRow(row.Select(value => Markup.Escape(Text(value))).ToArray());

    public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public override Task CompleteAsync(string? nextPageToken, CancellationToken ct)
    {
        Terminal.Out.Write(_table);
        Terminal.Error.MarkupLineInterpolated($"{_table.Rows.Count} rows.");

        return Task.CompletedTask;
    }
}
