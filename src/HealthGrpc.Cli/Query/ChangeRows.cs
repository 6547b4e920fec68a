using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using NodaTime;

namespace HealthGrpc.Cli.Query;

/// <summary>One row per change of the feed; a series or waveform is one row (its points are read with `query samples`).</summary>
internal static class ChangeRows
{
    public static readonly IReadOnlyList<string> Columns = ["sequence", "committed", "change", "uuid", "type", "start", "value", "unit", "detail"];

    public static object?[] Of(Change change, DateTimeZone zone)
    {
        var committed = SampleRows.Local(change.CommitTime.ToDateTimeOffset().ToUnixTimeMilliseconds(), zone);
        return change.ItemCase switch
        {
            Change.ItemOneofCase.Sample => Row(change, committed, "sample", change.Sample.Uuid, SampleRows.TypeName(change.Sample.Type, change.Sample.VendorType), change.Sample.StartTime, change.Sample.ValueCase == StoredSample.ValueOneofCase.Quantity ? change.Sample.Quantity : change.Sample.Category, change.Sample.Unit, null, zone),
            Change.ItemOneofCase.Series => Row(change, committed, "series", change.Series.Uuid, SampleRows.TypeName(change.Series.Type, change.Series.VendorType), change.Series.StartTime, null, change.Series.Unit, $"{SeriesColumns.PointCount(change.Series)} points", zone),
            Change.ItemOneofCase.Waveform => Row(change, committed, "waveform", change.Waveform.Uuid, SampleRows.TypeName(change.Waveform.Type, change.Waveform.VendorType), change.Waveform.StartTime, null, change.Waveform.Unit, $"chunk {change.Waveform.ChunkIndex + 1}/{change.Waveform.ChunkCount}", zone),
            Change.ItemOneofCase.Deletion => Row(change, committed, "deletion", change.Deletion.Uuid, null, change.Deletion.DeletedTime, null, null, null, zone),
            Change.ItemOneofCase.Record => [change.Sequence, committed, "record", change.Record.Record.RecordId, change.Record.Record.RecordType, null, null, null, $"version {change.Record.Record.Version}{(change.Record.Record.Deleted ? ", deleted" : "")}"],
            _ => [change.Sequence, committed, "unknown", null, null, null, null, null, null],
        };
    }

    private static object?[] Row(Change change, DateTimeOffset committed, string kind, Google.Protobuf.ByteString uuid, string? type, Google.Protobuf.WellKnownTypes.Timestamp? start, object? value, string? unit, string? detail, DateTimeZone zone) =>
    [
        change.Sequence, committed, kind, uuid.Length == 16 ? SampleUuid.ToGuid(uuid).ToString() : null, type,
        start is null ? null : SampleRows.Local(start.ToDateTimeOffset().ToUnixTimeMilliseconds(), zone), value, unit, detail,
    ];
}
