using System.Text.Json;

namespace HealthGrpc.Cli.Output;

/// <summary>
/// Rows as JSON objects keyed by column, numbers as numbers. With an envelope (a query's one page) the document is
/// {"rows":[…],"nextPageToken":…}; without (an export of every page) it is a plain array.
/// </summary>
internal sealed class JsonRowSink : RowSink
{
    private readonly Utf8JsonWriter _writer;
    private readonly bool _envelope;
    private readonly JsonEncodedText[] _names;

    public JsonRowSink(IReadOnlyList<string> columns, Stream output, bool envelope)
        : base(columns)
    {
        _writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = envelope });
        _envelope = envelope;
        _names = columns.Select(name => JsonEncodedText.Encode(name)).ToArray();
        if (envelope)
        {
            _writer.WriteStartObject();
            _writer.WritePropertyName("rows");
        }

        _writer.WriteStartArray();
    }

    public override void Write(IReadOnlyList<object?> row)
    {
        _writer.WriteStartObject();
        for (var i = 0; i < _names.Length; i++)
        {
            _writer.WritePropertyName(_names[i]);
            switch (row[i])
            {
                case null: _writer.WriteNullValue(); break;
                case double number: _writer.WriteNumberValue(number); break;
                case long number: _writer.WriteNumberValue(number); break;
                case ulong number: _writer.WriteNumberValue(number); break;
                case int number: _writer.WriteNumberValue(number); break;
                case var value: _writer.WriteStringValue(Text(value)); break;
            }
        }

        _writer.WriteEndObject();
    }

    public override Task FlushAsync(CancellationToken ct) => _writer.FlushAsync(ct);

    public override async Task CompleteAsync(string? nextPageToken, CancellationToken ct)
    {
        _writer.WriteEndArray();
        if (_envelope)
        {
            _writer.WriteString("nextPageToken", nextPageToken);
            _writer.WriteEndObject();
        }

        await _writer.FlushAsync(ct).ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync() => await _writer.DisposeAsync().ConfigureAwait(false);
}
