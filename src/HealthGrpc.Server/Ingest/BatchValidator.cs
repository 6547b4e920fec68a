using Google.Protobuf;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// Turns a wire <see cref="Batch"/> into validated, normalized domain records (canonical units, absolute times,
/// 16-byte ids, content-derived where the client sent none) plus one rejection per invalid item.
/// </summary>
internal sealed class BatchValidator(IngestLimits limits, TimeProvider clock)
{
    private const int MaxAnchorBytes = 4096;
    private const int MaxRecordPayloadBytes = 256 * 1024;
    private const int MaxMetadataEntries = 16;

    /// <summary>Total discrete samples over all sets: checked before any work, the limit is per batch.</summary>
    public static int CountSamples(Batch batch)
    {
        var count = 0;
        foreach (var set in batch.SampleSets)
        {
            count += set.Samples.Count;
        }

        return count;
    }

    public ValidatedBatch Validate(Batch batch)
    {
        var result = new ValidatedBatch();
        var latestStart = clock.GetUtcNow().Add(limits.MaxFutureSkew).ToUnixTimeMilliseconds();
        ValidateSamples(batch, latestStart, result);
        ValidateSeries(batch, latestStart, result);
        ValidateWaveforms(batch, latestStart, result);
        ValidateDeletions(batch, latestStart, result);
        ValidateRecords(batch, latestStart, result);
        ValidateAnchors(batch, result);
        return result;
    }

    private static void ValidateSamples(Batch batch, long latestStart, ValidatedBatch result)
    {
        var index = 0;
        for (var setIndex = 0; setIndex < batch.SampleSets.Count; setIndex++)
        {
            var set = batch.SampleSets[setIndex];
            var setProblem = CheckSet(set, setIndex, out var rule, out var conversion, out var source, out var baseMs);
            for (var sampleIndex = 0; sampleIndex < set.Samples.Count; sampleIndex++)
            {
                var sample = set.Samples[sampleIndex];
                SampleRecord? record = null;
                var problem = setProblem
                    ?? NormalizeSample(set, sample, new FieldPath("sample_sets", setIndex, ".samples", sampleIndex), rule, conversion, source, baseMs, latestStart, out record);
                if (problem is { } p)
                {
                    result.Rejections.Add(new ItemRejection(ItemKind.Sample, index, p));
                }
                else
                {
                    result.Samples.Add(record!);
                }

                index++;
            }
        }
    }

    private static Problem? CheckSet(
        SampleSet set, int setIndex, out TypeRule rule, out UnitConversion conversion, out SourceRecord source, out long baseMs)
    {
        source = ToSource(set.Source);
        baseMs = 0;
        return SampleNormalizer.ResolveType(set.Type, set.VendorType, set.Unit, out rule, out conversion)
            ?? SampleNormalizer.CheckExponent(set.DecimalExponent)
            ?? SampleNormalizer.CheckZone(set.HasZoneOffsetMinutes ? set.ZoneOffsetMinutes : null)
            ?? CheckSource(set.Source)
            ?? (set.BaseTime is null
                ? (set.Samples.Count > 0 ? new Problem(RejectReason.MissingTime, $"sample_sets[{setIndex}] has samples but no base_time.") : null)
                : TimeRange.ToUnixMs(set.BaseTime, new FieldPath("sample_sets", setIndex, Member: ".base_time"), out baseMs));
    }

    private static Problem? NormalizeSample(
        SampleSet set, Sample sample, FieldPath field, TypeRule rule, UnitConversion conversion, SourceRecord source, long baseMs, long latestStart,
        out SampleRecord? record)
    {
        record = null;
        if (sample.Uuid.Length is not (0 or SampleUuid.Length))
        {
            return new Problem(RejectReason.MalformedUuid, $"uuid has {sample.Uuid.Length} bytes; it must be empty or 16.");
        }

        double? quantity = null;
        int? category = null;
        switch (sample.ValueCase)
        {
            case Sample.ValueOneofCase.None:
                return new Problem(RejectReason.MissingValue, "sample has no value.");
            case Sample.ValueOneofCase.Category when !rule.IsCategory:
                return new Problem(RejectReason.MissingValue, $"{set.Type} needs a quantity, not a category.");
            case Sample.ValueOneofCase.Category:
                category = sample.Category;
                if (SampleNormalizer.Category(sample.Category, rule, set.Type) is { } categoryProblem)
                {
                    return categoryProblem;
                }

                break;
            default:
                if (rule.IsCategory)
                {
                    return new Problem(RejectReason.MissingValue, $"{set.Type} needs a category value, not a quantity.");
                }

                var raw = sample.ValueCase == Sample.ValueOneofCase.ScaledValue
                    ? SampleNormalizer.Scale(sample.ScaledValue, set.DecimalExponent)
                    : sample.DoubleValue;
                if (SampleNormalizer.Quantity(raw, rule, conversion, set.Type, out var canonical) is { } quantityProblem)
                {
                    return quantityProblem;
                }

                quantity = canonical;
                break;
        }

        var metadataProblem = CheckSyncAndMetadata(sample);
        if (metadataProblem is not null)
        {
            return metadataProblem;
        }

        if (TimeRange.Add(baseMs, sample.StartOffsetMs) is not { } start)
        {
            return new Problem(RejectReason.TimeOutOfRange,
                $"{field}.start_offset_ms {sample.StartOffsetMs} from base_time {TimeRange.Describe(baseMs)} does not fit a time.");
        }

        if (SampleNormalizer.CheckStart(start, latestStart) is { } startProblem)
        {
            return startProblem with { Message = $"{field}: {startProblem.Message}" };
        }

        if (TimeRange.CheckStored(start, field.With(".start_offset_ms: start (base_time + start_offset_ms)"), latestStart) is { } earlyProblem)
        {
            return earlyProblem;
        }

        // start is within 0..latestStart here, so the difference cannot wrap.
        if (sample.DurationMs > (ulong)(latestStart - start))
        {
            return new Problem(RejectReason.TimeOutOfRange,
                $"{field}.duration_ms {sample.DurationMs} ends the sample after {TimeRange.Describe(latestStart)} (server clock + skew).");
        }

        var end = start + (long)sample.DurationMs;

        var unit = rule.CanonicalUnit;
        var uuid = sample.Uuid.Length == SampleUuid.Length
            ? SampleUuid.ToGuid(sample.Uuid)
            : ContentUuid.Derive((int)set.Type, set.VendorType, start, end, quantity, category, unit, source.Name, source.Manufacturer, source.Model, source.AppId);
        record = new SampleRecord(
            uuid,
            (int)set.Type,
            NullIfEmpty(set.VendorType),
            start,
            end,
            set.HasZoneOffsetMinutes ? set.ZoneOffsetMinutes : null,
            quantity,
            category,
            unit,
            source,
            NullIfEmpty(sample.SyncIdentifier),
            sample.SyncVersion,
            sample.Metadata.Count == 0 ? null : new Dictionary<string, string>(sample.Metadata));
        return null;
    }

    private static Problem? CheckSyncAndMetadata(Sample sample)
    {
        if (sample.SyncIdentifier.Length > 256)
        {
            return new Problem(RejectReason.FieldTooLarge, "sync_identifier is longer than 256 characters.");
        }

        if (sample.Metadata.Count > MaxMetadataEntries)
        {
            return new Problem(RejectReason.FieldTooLarge, $"metadata has {sample.Metadata.Count} entries; at most {MaxMetadataEntries}.");
        }

        foreach (var (key, value) in sample.Metadata)
        {
            if (key.Length > 64 || value.Length > 256)
            {
                return new Problem(RejectReason.FieldTooLarge, $"metadata entry '{Truncate(key)}' exceeds 64-character keys / 256-character values.");
            }
        }

        return null;
    }

    private void ValidateSeries(Batch batch, long latestStart, ValidatedBatch result)
    {
        var points = new List<SeriesPoint>();
        for (var index = 0; index < batch.Series.Count; index++)
        {
            var series = batch.Series[index];
            var problem = NormalizeSeries(series, index, points, latestStart, out var record);
            if (problem is { } p)
            {
                result.Rejections.Add(new ItemRejection(ItemKind.Series, index, p));
            }
            else
            {
                result.Series.Add(record!);
            }
        }
    }

    private Problem? NormalizeSeries(Series series, int index, List<SeriesPoint> points, long latestStart, out SeriesRecord? record)
    {
        record = null;
        if (series.Uuid.Length != SampleUuid.Length)
        {
            return new Problem(RejectReason.MalformedUuid, $"series uuid has {series.Uuid.Length} bytes; it must be 16.");
        }

        var problem = SampleNormalizer.ResolveType(series.Type, series.VendorType, series.Unit, out var rule, out var conversion)
            ?? (rule.IsCategory ? new Problem(RejectReason.MissingValue, $"{series.Type} is a category type; series carry quantities.") : (Problem?)null)
            ?? SampleNormalizer.CheckExponent(series.DecimalExponent)
            ?? SampleNormalizer.CheckZone(series.HasZoneOffsetMinutes ? series.ZoneOffsetMinutes : null)
            ?? CheckSource(series.Source)
            ?? (series.StartTime is null ? new Problem(RejectReason.MissingTime, "series has no start_time.") : (Problem?)null);
        if (problem is not null)
        {
            return problem;
        }

        var count = SeriesColumns.PointCount(series);
        if (count <= 0)
        {
            return new Problem(RejectReason.MalformedSeries,
                $"series columns do not line up ({series.TimeDeltasMs.Count} time deltas, {series.ValueDeltas.Count} values, interval {series.IntervalMs} ms).");
        }

        if (count > limits.MaxPointsPerSeries)
        {
            return new Problem(RejectReason.OversizeSeries, $"series has {count} points; at most {limits.MaxPointsPerSeries}.");
        }

        var timeProblem = TimeRange.ToUnixMs(series.StartTime!, new FieldPath("series", index, Member: ".start_time"), out var startMs);
        timeProblem ??= CheckSeriesColumns(series, index, count, startMs, latestStart);
        if (timeProblem is not null)
        {
            return timeProblem;
        }

        try
        {
            SeriesColumns.Decode(series, points);
        }
        catch (FormatException error)
        {
            return new Problem(RejectReason.EndBeforeStart, error.Message);
        }

        var canonical = series.Clone();
        canonical.Unit = rule.CanonicalUnit;
        var factorIsPowerOfTen = IsPowerOfTen(conversion.Factor, out var extraExponent) && conversion.Offset == 0;
        for (var i = 0; i < points.Count; i++)
        {
            var raw = SampleNormalizer.Scale(points[i].ScaledValue, series.DecimalExponent);
            if (SampleNormalizer.Quantity(raw, rule, conversion, series.Type, out var value) is { } pointProblem)
            {
                return pointProblem with { Message = $"point {i}: {pointProblem.Message}" };
            }

            if (!factorIsPowerOfTen)
            {
                // Keep three more decimals than sent so a non-decimal conversion (lb -> kg) loses nothing visible.
                points[i] = points[i] with { ScaledValue = (long)Math.Round(value * Math.Pow(10, 3 - series.DecimalExponent)) };
            }
        }

        if (SampleNormalizer.CheckStart(points[0].UnixMilliseconds, latestStart) is { } startProblem)
        {
            return startProblem with { Message = $"series[{index}]: {startProblem.Message}" };
        }

        var rangeProblem = TimeRange.CheckStored(points[0].UnixMilliseconds, new FieldPath("series", index, Member: " first point"), latestStart)
            ?? TimeRange.CheckStored(points[^1].UnixMilliseconds, new FieldPath("series", index, Member: " last point"), latestStart);
        if (rangeProblem is not null)
        {
            return rangeProblem;
        }

        if (!factorIsPowerOfTen)
        {
            SeriesColumns.Encode(canonical, points.ToArray());
            canonical.DecimalExponent = series.DecimalExponent - 3;
        }
        else
        {
            canonical.DecimalExponent = series.DecimalExponent + extraExponent;
        }

        record = new SeriesRecord(
            SampleUuid.ToGuid(series.Uuid),
            (int)series.Type,
            NullIfEmpty(series.VendorType),
            rule.CanonicalUnit,
            ToSource(series.Source),
            points[0].UnixMilliseconds,
            points[^1].UnixMilliseconds,
            series.HasZoneOffsetMinutes ? series.ZoneOffsetMinutes : null,
            points.Count,
            canonical.ToByteArray());
        return null;
    }

    /// <summary>
    /// Walks the time and value columns with overflow checks before they are decoded: a delta of ±2^63 must not wrap a
    /// point's time (or value) into a plausible one. Negative time deltas answer END_BEFORE_START, as decoding does.
    /// </summary>
    private static Problem? CheckSeriesColumns(Series series, int index, int count, long startMs, long latestStart)
    {
        var times = series.TimeDeltasMs;
        var values = series.ValueDeltas;
        long time = startMs, value = 0;
        for (var i = 0; i < count; i++)
        {
            long? next = time;
            if (times.Count > 0)
            {
                if (times[i] < 0)
                {
                    return new Problem(RejectReason.EndBeforeStart, $"series[{index}].time_deltas_ms[{i}] is negative ({times[i]} ms).");
                }

                next = TimeRange.Add(time, times[i]);
            }
            else if (i > 0)
            {
                next = TimeRange.Add(time, series.IntervalMs);
            }

            if (next is not { } t || t > latestStart)
            {
                return new Problem(RejectReason.TimeOutOfRange,
                    $"series[{index}] point {i} lies after {TimeRange.Describe(latestStart)} (server clock + skew) or does not fit a time.");
            }

            time = t;
            if (TimeRange.Add(value, values[i]) is not { } v)
            {
                return new Problem(RejectReason.ValueOutOfRange, $"series[{index}].value_deltas[{i}] overflows the 64-bit scaled value.");
            }

            value = v;
        }

        return null;
    }

    private void ValidateWaveforms(Batch batch, long latestStart, ValidatedBatch result)
    {
        for (var index = 0; index < batch.Waveforms.Count; index++)
        {
            var waveform = batch.Waveforms[index];
            var problem = NormalizeWaveform(waveform, index, latestStart, out var record);
            if (problem is { } p)
            {
                result.Rejections.Add(new ItemRejection(ItemKind.Waveform, index, p));
            }
            else
            {
                result.Waveforms.Add(record!);
            }
        }
    }

    private Problem? NormalizeWaveform(Waveform waveform, int index, long latestStart, out WaveformRecord? record)
    {
        record = null;
        if (waveform.Uuid.Length != SampleUuid.Length)
        {
            return new Problem(RejectReason.MalformedUuid, $"waveform uuid has {waveform.Uuid.Length} bytes; it must be 16.");
        }

        if (waveform.Type != DataType.Ecg)
        {
            var typeProblem = waveform.Type == DataType.Vendor
                ? SampleNormalizer.ResolveType(waveform.Type, waveform.VendorType, waveform.Unit, out _, out _)
                : new Problem(RejectReason.UnknownType, $"waveforms carry DATA_TYPE_ECG or a vendor type, not {waveform.Type}.");
            if (typeProblem is not null)
            {
                return typeProblem;
            }
        }

        var exponentShift = waveform.Unit switch
        {
            "" or "uV" or "µV" => 0,
            "mV" => 3,
            "V" => 6,
            _ => (int?)null,
        };
        var problem = (waveform.Type == DataType.Ecg && exponentShift is null
                ? new Problem(RejectReason.UnitNotConvertible, $"ECG unit '{waveform.Unit}' is not one of uV, mV, V.")
                : (Problem?)null)
            ?? SampleNormalizer.CheckExponent(waveform.DecimalExponent)
            ?? SampleNormalizer.CheckZone(waveform.HasZoneOffsetMinutes ? waveform.ZoneOffsetMinutes : null)
            ?? CheckSource(waveform.Source)
            ?? (waveform.StartTime is null ? new Problem(RejectReason.MissingTime, "waveform has no start_time.") : (Problem?)null)
            ?? (!double.IsFinite(waveform.SamplingFrequencyHz) || waveform.SamplingFrequencyHz <= 0 || waveform.SamplingFrequencyHz > 10_000
                ? new Problem(RejectReason.OversizeWaveform, $"sampling_frequency_hz {waveform.SamplingFrequencyHz} is outside (0, 10000].")
                : (Problem?)null)
            ?? (waveform.ChunkCount == 0 || waveform.ChunkIndex >= waveform.ChunkCount
                ? new Problem(RejectReason.OversizeWaveform, $"chunk_index {waveform.ChunkIndex} is not below chunk_count {waveform.ChunkCount}.")
                : (Problem?)null)
            ?? (waveform.VoltageDeltas.Count == 0 || waveform.VoltageDeltas.Count > limits.MaxPointsPerSeries
                ? new Problem(RejectReason.OversizeWaveform, $"waveform chunk has {waveform.VoltageDeltas.Count} samples; 1..{limits.MaxPointsPerSeries} allowed.")
                : (Problem?)null);
        if (problem is not null)
        {
            return problem;
        }

        if (TimeRange.ToUnixMs(waveform.StartTime!, new FieldPath("waveforms", index, Member: ".start_time"), out var start) is { } timeProblem)
        {
            return timeProblem;
        }

        if (SampleNormalizer.CheckStart(start, latestStart) is { } startProblem)
        {
            return startProblem with { Message = $"waveforms[{index}]: {startProblem.Message}" };
        }

        if (TimeRange.CheckStored(start, new FieldPath("waveforms", index, Member: ".start_time"), latestStart) is { } rangeProblem)
        {
            return rangeProblem;
        }

        var canonical = waveform.Clone();
        if (waveform.Type == DataType.Ecg)
        {
            canonical.Unit = "uV";
            canonical.DecimalExponent = waveform.DecimalExponent + exponentShift!.Value;
        }

        record = new WaveformRecord(
            SampleUuid.ToGuid(waveform.Uuid),
            waveform.ChunkIndex,
            waveform.ChunkCount,
            (int)waveform.Type,
            NullIfEmpty(waveform.VendorType),
            canonical.Unit,
            ToSource(waveform.Source),
            start,
            waveform.HasZoneOffsetMinutes ? waveform.ZoneOffsetMinutes : null,
            waveform.SamplingFrequencyHz,
            (int)waveform.Lead,
            waveform.FirstSampleIndex,
            waveform.VoltageDeltas.Count,
            canonical.ToByteArray());
        return null;
    }

    private void ValidateDeletions(Batch batch, long latestStart, ValidatedBatch result)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        for (var index = 0; index < batch.Deletions.Count; index++)
        {
            var deletion = batch.Deletions[index];
            if (deletion.Uuid.Length != SampleUuid.Length)
            {
                result.Rejections.Add(new ItemRejection(ItemKind.Deletion, index,
                    new Problem(RejectReason.MalformedUuid, $"deletion uuid has {deletion.Uuid.Length} bytes; it must be 16.")));
                continue;
            }

            var deletedAt = now;
            if (deletion.DeletedTime is not null
                && TimeRange.ToStoredUnixMs(deletion.DeletedTime, new FieldPath("deletions", index, Member: ".deleted_time"), latestStart, out deletedAt) is { } timeProblem)
            {
                result.Rejections.Add(new ItemRejection(ItemKind.Deletion, index, timeProblem));
                continue;
            }

            result.Deletions.Add(new TombstoneRecord(SampleUuid.ToGuid(deletion.Uuid), deletedAt));
        }
    }

    private static void ValidateRecords(Batch batch, long latestStart, ValidatedBatch result)
    {
        for (var index = 0; index < batch.Records.Count; index++)
        {
            var record = batch.Records[index];
            var problem = record.RecordType.Length is 0 or > 128 || !record.RecordType.Contains('/', StringComparison.Ordinal)
                ? "record_type must be a namespaced name of 1..128 characters"
                : record.RecordId.Length is 0 or > 256 ? "record_id must be 1..256 characters"
                : record.Version == 0 ? "version must be >= 1"
                : record.Payload.Length > MaxRecordPayloadBytes ? $"payload has {record.Payload.Length} bytes; at most {MaxRecordPayloadBytes}"
                : null;
            if (problem is not null)
            {
                result.Rejections.Add(new ItemRejection(ItemKind.Record, index, new Problem(RejectReason.InvalidRecord, problem + ".")));
                continue;
            }

            var modifiedMs = 0L;
            if (record.ModifiedTime is not null
                && TimeRange.ToStoredUnixMs(record.ModifiedTime, new FieldPath("records", index, Member: ".modified_time"), latestStart, out modifiedMs) is { } timeProblem)
            {
                result.Rejections.Add(new ItemRejection(ItemKind.Record, index, timeProblem));
                continue;
            }

            result.Records.Add(new DocumentRecord(
                record.RecordType,
                record.RecordId,
                record.Version,
                record.Deleted,
                record.ContentType,
                record.Deleted ? [] : record.Payload.ToByteArray(),
                modifiedMs));
        }
    }

    private static void ValidateAnchors(Batch batch, ValidatedBatch result)
    {
        var seen = new HashSet<(DataType, string)>();
        for (var index = 0; index < batch.Anchors.Count; index++)
        {
            var anchor = batch.Anchors[index];
            var problem = anchor.Anchor.Length > MaxAnchorBytes
                ? new Problem(RejectReason.FieldTooLarge, $"anchor has {anchor.Anchor.Length} bytes; at most {MaxAnchorBytes}.")
                : anchor.Type == DataType.Vendor
                    ? SampleNormalizer.ResolveType(anchor.Type, anchor.VendorType, string.Empty, out _, out _)
                    : !TypeRules.TryGet(anchor.Type, out _)
                        ? new Problem(RejectReason.UnknownType, $"anchor for unknown data type {(int)anchor.Type}.")
                        : !seen.Add((anchor.Type, anchor.VendorType))
                            ? new Problem(RejectReason.FieldTooLarge, $"a second anchor for {anchor.Type} in one batch.")
                            : null;
            if (problem is { } p)
            {
                result.Rejections.Add(new ItemRejection(ItemKind.Anchor, index, p));
                continue;
            }

            result.Anchors.Add(new AnchorRecord((int)anchor.Type, NullIfEmpty(anchor.VendorType), anchor.Anchor.ToByteArray()));
        }
    }

    private static Problem? CheckSource(Source? source)
    {
        if (source is null)
        {
            return null;
        }

        return source.Name.Length > 256 || source.Manufacturer.Length > 128 || source.Model.Length > 128
            || source.HardwareVersion.Length > 64 || source.SoftwareVersion.Length > 64 || source.AppId.Length > 256
            ? new Problem(RejectReason.FieldTooLarge, "a source field exceeds its documented size.")
            : null;
    }

    private static readonly SourceRecord UnknownSource = new(0, string.Empty, string.Empty, string.Empty, string.Empty, string.Empty, string.Empty);

    private static SourceRecord ToSource(Source? source) => source is null
        ? UnknownSource
        : new SourceRecord((int)source.Kind, source.Name, source.Manufacturer, source.Model, source.HardwareVersion, source.SoftwareVersion, source.AppId);

    private static bool IsPowerOfTen(double factor, out int exponent)
    {
        exponent = (int)Math.Round(Math.Log10(factor));
        return factor > 0 && Math.Abs(Math.Pow(10, exponent) - factor) < 1e-12 * factor;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
