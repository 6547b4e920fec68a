using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// Series and waveform chunks: items stored as one compact payload row each, deduplicated by their unique key
/// (<c>(user_ref, uuid)</c>, plus the chunk index for waveforms), ignored when the user deleted their uuid or retention
/// purged their time range. Both kinds
/// share one path: the columns they have in common, then the few of their own. A stored series' points count in the
/// rollups like samples.
/// </summary>
internal sealed class PayloadItemApplier
{
    private const string SharedColumns = "user_ref, uuid, seq, type, vendor_type, unit_ref, source_ref, device_ref, start_ms, zone, point_count, payload";
    private const string SharedValues = "$user, $uuid, $seq, $type, $vendorType, $unit, $source, $device, $start, $zone, $points, $payload";

    private static readonly (string, SqliteType)[] SharedParameters =
    [
        ("$user", SqliteType.Integer), ("$uuid", SqliteType.Blob), ("$seq", SqliteType.Integer), ("$type", SqliteType.Integer),
        ("$vendorType", SqliteType.Text), ("$unit", SqliteType.Integer), ("$source", SqliteType.Integer), ("$device", SqliteType.Integer),
        ("$start", SqliteType.Integer), ("$zone", SqliteType.Integer), ("$points", SqliteType.Integer), ("$payload", SqliteType.Blob),
    ];

    private readonly BatchScope _scope;
    private readonly WriterIds _ids;
    private readonly SampleApplier _samples;
    private readonly RollupWriter _rollups;
    private readonly RetentionHorizons _horizons;
    private readonly SqliteCommand _insertSeries, _insertWaveform;

    public PayloadItemApplier(
        WriterStatements statements, BatchScope scope, WriterIds ids, SampleApplier samples, RollupWriter rollups, RetentionHorizons horizons)
    {
        (_scope, _ids, _samples, _rollups, _horizons) = (scope, ids, samples, rollups, horizons);
        _insertSeries = statements.Prepare(
            $"INSERT INTO series ({SharedColumns}, end_ms) VALUES ({SharedValues}, $end) ON CONFLICT DO NOTHING",
            [.. SharedParameters, ("$end", SqliteType.Integer)]);
        _insertWaveform = statements.Prepare(
            $"""
            INSERT INTO waveforms ({SharedColumns}, chunk_index, chunk_count, frequency_hz, lead, first_sample_index)
            VALUES ({SharedValues}, $chunkIndex, $chunkCount, $frequency, $lead, $firstSample)
            ON CONFLICT DO NOTHING
            """,
            [
                .. SharedParameters, ("$chunkIndex", SqliteType.Integer), ("$chunkCount", SqliteType.Integer),
                ("$frequency", SqliteType.Real), ("$lead", SqliteType.Integer), ("$firstSample", SqliteType.Integer),
            ]);
    }

    public void ApplySeries(IReadOnlyList<SeriesRecord> series)
    {
        for (var i = 0; i < series.Count; i++)
        {
            var item = series[i];
            if (Bind(_insertSeries, new Shared(item.Uuid, item.Type, item.VendorType, item.Unit, item.Source, item.StartUnixMs,
                    item.ZoneOffsetMinutes, item.PointCount, item.Payload)))
            {
                _insertSeries.Bind("$end", item.EndUnixMs);
                var inserted = _insertSeries.ExecuteNonQuery();
                _scope.CountInsert(inserted);
                if (inserted != 0)
                {
                    _rollups.AddSeries(item.Type, _ids.Source(item.Source), item.Payload);
                }
            }
        }
    }

    public void ApplyWaveforms(IReadOnlyList<WaveformRecord> waveforms)
    {
        for (var i = 0; i < waveforms.Count; i++)
        {
            var item = waveforms[i];
            if (Bind(_insertWaveform, new Shared(item.Uuid, item.Type, item.VendorType, item.Unit, item.Source, item.StartUnixMs,
                    item.ZoneOffsetMinutes, item.PointCount, item.Payload)))
            {
                _insertWaveform.Bind("$chunkIndex", (long)item.ChunkIndex);
                _insertWaveform.Bind("$chunkCount", (long)item.ChunkCount);
                _insertWaveform.Bind("$frequency", item.SamplingFrequencyHz);
                _insertWaveform.Bind("$lead", item.Lead);
                _insertWaveform.Bind("$firstSample", unchecked((long)item.FirstSampleIndex));
                _scope.CountInsert(_insertWaveform.ExecuteNonQuery());
            }
        }
    }

    private readonly record struct Shared(
        Guid Uuid, int Type, string? VendorType, string Unit, SourceRecord Source, long StartUnixMs, int? Zone, int Points, byte[] Payload);

    /// <summary>Binds the shared columns; false (counted as ignored) when the user deleted the uuid or retention purged its range.</summary>
    private bool Bind(SqliteCommand insert, Shared item)
    {
        var scope = _scope;
        UuidBytes.Write(item.Uuid, scope.Uuid);
        if (_samples.IsTombstoned() || _horizons.IsPurged(item.Type, item.StartUnixMs))
        {
            scope.IgnoredDeleted++;
            return false;
        }

        insert.Bind("$user", scope.UserRef);
        insert.Bind("$uuid", scope.Uuid);
        insert.Bind("$seq", scope.NextSequence);
        insert.Bind("$type", item.Type);
        insert.Bind("$vendorType", item.VendorType);
        insert.Bind("$unit", _ids.Unit(item.Unit));
        insert.Bind("$source", _ids.Source(item.Source));
        insert.Bind("$device", scope.DeviceRef);
        insert.Bind("$start", item.StartUnixMs);
        insert.Bind("$zone", item.Zone);
        insert.Bind("$points", item.Points);
        insert.Bind("$payload", item.Payload);
        return true;
    }
}
