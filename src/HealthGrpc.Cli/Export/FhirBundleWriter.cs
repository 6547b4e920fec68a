using System.Text.Json;
using HealthGrpc.Cli.Query;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using Hl7.Fhir.Model;
using DataType = HealthGrpc.Contracts.V1.DataType;
using Task = System.Threading.Tasks.Task;
using Hl7.Fhir.Serialization;
using DateTimeZone = NodaTime.DateTimeZone;

namespace HealthGrpc.Cli.Export;

/// <summary>
/// A FHIR R4 collection Bundle, written entry by entry: the envelope is written by hand and each resource by Firely's
/// serializer, so an export of years holds one page in memory, not the whole Bundle. Samples are Observations; a
/// regular series is one Observation whose value is SampledData; a record is a DocumentReference.
/// </summary>
internal sealed class FhirBundleWriter : IAsyncDisposable
{
    private const string Ucum = "http://unitsofmeasure.org";
    private const string Loinc = "http://loinc.org";
    private const string CategorySystem = "http://terminology.hl7.org/CodeSystem/observation-category";
    private const string RecordSystem = "urn:healthgrpc:record:";

    private static readonly JsonSerializerOptions Fhir = new JsonSerializerOptions().ForFhir();
    private readonly Utf8JsonWriter _writer;
    private readonly string _owner;
    private readonly DateTimeZone _zone;
    private readonly ExportTally _tally;
    private readonly List<SeriesPoint> _points = [];

    public FhirBundleWriter(Stream output, string owner, DateTimeZone zone, ExportTally tally)
    {
        _writer = new Utf8JsonWriter(output);
        _owner = owner;
        _zone = zone;
        _tally = tally;
        _writer.WriteStartObject();
        _writer.WriteString("resourceType", "Bundle");
        _writer.WriteString("type", "collection");
        _writer.WriteString("timestamp", SampleRows.Local(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), zone).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture));
        _writer.WriteStartArray("entry");
    }

    public void Add(ReadSamplesResponse page)
    {
        foreach (var sample in page.Samples)
        {
            var type = SampleRows.TypeName(sample.Type, sample.VendorType);
            if (Code(sample.Type, sample.Unit, type) is not { } code)
            {
                continue;
            }

            if (sample.ValueCase != StoredSample.ValueOneofCase.Quantity)
            {
                _tally.Skip(type, "category value, no quantity");
                continue;
            }

            var uuid = SampleUuid.ToGuid(sample.Uuid);
            Write(code, type, $"urn:uuid:{uuid}", sample.Quantity, sample.StartTime.ToDateTimeOffset(), sample.EndTime.ToDateTimeOffset(), sample.Source);
        }

        foreach (var series in page.Series)
        {
            var type = SampleRows.TypeName(series.Type, series.VendorType);
            SeriesColumns.Decode(series, _points);
            if (Code(series.Type, series.Unit, type, _points.Count) is not { } code)
            {
                continue;
            }

            if (series.IntervalMs > 0)
            {
                WriteSampled(code, type, series);
                continue;
            }

            // SampledData needs one fixed period: an irregular series is an Observation per point, identified by the
            // series' uuid and the point's index (a point has no uuid of its own).
            var uuid = SampleUuid.ToGuid(series.Uuid);
            var scale = Math.Pow(10, series.DecimalExponent);
            for (var i = 0; i < _points.Count; i++)
            {
                var at = DateTimeOffset.FromUnixTimeMilliseconds(_points[i].UnixMilliseconds);
                Write(code, type, $"urn:uuid:{uuid}#{i}", _points[i].ScaledValue * scale, at, at, series.Source);
            }
        }

        foreach (var waveform in page.Waveforms)
        {
            _tally.Skip(SampleRows.TypeName(waveform.Type, waveform.VendorType), "waveform chunk (no Observation mapping)");
        }
    }

    public Task FlushAsync(CancellationToken ct) => _writer.FlushAsync(ct);

    public async Task CompleteAsync(CancellationToken ct)
    {
        _writer.WriteEndArray();
        _writer.WriteEndObject();
        await _writer.FlushAsync(ct).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    private LoincCode? Code(DataType dataType, string unit, string type, int items = 1)
    {
        if (LoincCodes.Of(dataType) is not { } code)
        {
            _tally.Skip(type, "no LOINC code", items);
            return null;
        }

        if (unit.Length > 0 && unit != code.StoredUnit)
        {
            _tally.Skip(type, $"unit {unit}, not {code.StoredUnit}", items);
            return null;
        }

        return code;
    }

    /// <summary>
    /// A record as a DocumentReference. Records are documents a client defines (a survey answer, a training plan, a
    /// route summary) with a media type and an opaque payload, not coded measurements: FHIR R4 intends DocumentReference
    /// for "a document of any kind for any purpose", carried inline as an Attachment with its contentType. An Observation
    /// would need a code and a value the record does not have; a Procedure would claim a clinical act.
    /// </summary>
    public void Add(StoredRecord stored)
    {
        var record = stored.Record;
        var modified = SampleRows.Local(CurrentRecords.Modified(record), _zone);
        var document = new DocumentReference
        {
            // The record's version is the version of this resource: a newer one replaces it (last-write-wins).
            Meta = new Meta { VersionId = record.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            MasterIdentifier = new Identifier(RecordSystem + record.RecordType, record.RecordId),
            Status = DocumentReferenceStatus.Current,
            Type = new CodeableConcept { Text = record.RecordType },
            Subject = Subject(),
            Date = modified,
            Author = stored.DeviceId.Length > 0 ? [new ResourceReference { Display = stored.DeviceId }] : [],
            Content = [new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = record.ContentType.Length > 0 ? record.ContentType : null, Data = record.Payload.ToByteArray(), CreationElement = new FhirDateTime(modified) } }],
        };
        WriteEntry(document, record.RecordType);
    }

    private void Write(LoincCode code, string type, string identifier, double value, DateTimeOffset start, DateTimeOffset end, Source? source)
    {
        var observation = Observation(code, identifier, source);
        observation.Effective = start == end ? Time(start) : new Period(Time(start), Time(end));
        observation.Value = new Quantity { Value = (decimal)value, Unit = code.UnitDisplay, System = Ucum, Code = code.UcumCode };
        WriteEntry(observation, type);
    }

    /// <summary>
    /// A regularly sampled series as one Observation with SampledData, the R4 type for "a series of measurements taken
    /// by a device" at a fixed period: the stored integers are the data, 10^decimal_exponent the factor, the interval
    /// the period, so no value is rounded through a decimal string and a day of 1 Hz points is one entry, not 86,400.
    /// </summary>
    private void WriteSampled(LoincCode code, string type, Series series)
    {
        var observation = Observation(code, $"urn:uuid:{SampleUuid.ToGuid(series.Uuid)}", series.Source);
        var first = DateTimeOffset.FromUnixTimeMilliseconds(_points[0].UnixMilliseconds);
        var last = DateTimeOffset.FromUnixTimeMilliseconds(_points[^1].UnixMilliseconds);
        observation.Effective = new Period(Time(first), Time(last));
        observation.Value = new SampledData
        {
            Origin = new Quantity { Value = 0, Unit = code.UnitDisplay, System = Ucum, Code = code.UcumCode },
            Period = series.IntervalMs,
            Factor = (decimal)Math.Pow(10, series.DecimalExponent),
            Dimensions = 1,
            Data = string.Join(' ', _points.Select(point => point.ScaledValue.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        };
        WriteEntry(observation, type);
    }

    private Observation Observation(LoincCode code, string identifier, Source? source) => new()
    {
        Status = ObservationStatus.Final,
        Identifier = [new Identifier("urn:ietf:rfc:3986", identifier)],
        Category = [new CodeableConcept(CategorySystem, code.Category)],
        Code = new CodeableConcept(Loinc, code.Code, code.Display, null),
        Subject = Subject(),
        Device = source is { Name.Length: > 0 } ? new ResourceReference { Display = source.Name } : null,
    };

    // Reading your own data, the CLI knows only the token, not its user id: the subject is named when --owner is.
    private ResourceReference? Subject() => _owner.Length > 0 ? new ResourceReference { Identifier = new Identifier("urn:healthgrpc:user", _owner), Display = _owner } : null;

    private void WriteEntry(Resource resource, string type)
    {
        _writer.WriteStartObject();
        _writer.WritePropertyName("resource");
        JsonSerializer.Serialize(_writer, resource, resource.GetType(), Fhir);
        _writer.WriteEndObject();
        _tally.Wrote(type);
    }

    private FhirDateTime Time(DateTimeOffset instant) => new(SampleRows.Local(instant.ToUnixTimeMilliseconds(), _zone));
}
