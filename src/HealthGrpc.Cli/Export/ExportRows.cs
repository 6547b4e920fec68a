using System.Text;
using HealthGrpc.Cli.Query;
using HealthGrpc.Contracts.V1;
using NodaTime;

namespace HealthGrpc.Cli.Export;

/// <summary>
/// The rows of `export csv|json`: the columns of `query samples` (kind sample, series or waveform), then a record's own
/// columns, so one file holds both and a record row reads as kind "record", type its record_type, start its modified
/// time, deviceId the device that uploaded the version.
/// </summary>
internal static class ExportRows
{
    private static readonly string[] RecordColumns = ["recordId", "version", "contentType", "payloadEncoding", "payload"];
    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static readonly IReadOnlyList<string> Columns = [.. SampleRows.Columns, .. RecordColumns];

    public static readonly int TypeColumn = SampleColumn("type");

    /// <summary>A row of <see cref="SampleRows"/>, its record columns empty.</summary>
    public static object?[] Sample(object?[] row) => [.. row, .. new object?[RecordColumns.Length]];

    public static object?[] Record(StoredRecord stored, DateTimeZone zone)
    {
        var record = stored.Record;
        var sampleColumns = new object?[SampleRows.Columns.Count];
        sampleColumns[SampleColumn("kind")] = "record";
        sampleColumns[TypeColumn] = record.RecordType;
        sampleColumns[SampleColumn("start")] = SampleRows.Local(CurrentRecords.Modified(record), zone);
        sampleColumns[SampleColumn("deviceId")] = stored.DeviceId;
        var (encoding, payload) = Payload(record);
        return [.. sampleColumns, record.RecordId, record.Version, record.ContentType, encoding, payload];
    }

    private static int SampleColumn(string name) => SampleRows.Columns.ToList().IndexOf(name);

    /// <summary>
    /// A JSON or text document as its text, so a script reads it as it was written; anything else (protobuf, invalid
    /// UTF-8) as base64, which the payloadEncoding column says.
    /// </summary>
    private static (string Encoding, string Payload) Payload(Record record)
    {
        var type = record.ContentType.Split(';')[0].Trim();
        if (type.StartsWith("text/", StringComparison.OrdinalIgnoreCase) || type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return ("utf-8", StrictUtf8.GetString(record.Payload.Span));
            }
            catch (DecoderFallbackException)
            {
                // Declared as text but not UTF-8: base64 keeps every byte.
            }
        }

        return ("base64", record.Payload.ToBase64());
    }
}
