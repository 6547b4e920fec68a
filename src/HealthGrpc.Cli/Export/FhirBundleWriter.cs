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
/// A FHIR R4 collection Bundle of Observations, written entry by entry: the envelope is written by hand and each
/// Observation by Firely's serializer, so an export of years holds one page in memory, not the whole Bundle.
/// </summary>
internal sealed class FhirBundleWriter : IAsyncDisposable
{
    private const string Ucum = "http://unitsofmeasure.org";
    private const string Loinc = "http://loinc.org";
    private const string CategorySystem = "http://terminology.hl7.org/CodeSystem/observation-category";

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

            // A series point has no uuid of its own: the series' uuid and the point's index identify it.
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

    private void Write(LoincCode code, string type, string identifier, double value, DateTimeOffset start, DateTimeOffset end, Source? source)
    {
        var observation = new Observation
        {
            Status = ObservationStatus.Final,
            Identifier = [new Identifier("urn:ietf:rfc:3986", identifier)],
            Category = [new CodeableConcept(CategorySystem, code.Category)],
            Code = new CodeableConcept(Loinc, code.Code, code.Display, null),
            // Reading your own data, the CLI knows only the token, not its user id: the subject is named when --owner is.
            Subject = _owner.Length > 0 ? new ResourceReference { Identifier = new Identifier("urn:healthgrpc:user", _owner), Display = _owner } : null,
            Effective = start == end ? Time(start) : new Period(Time(start), Time(end)),
            Value = new Quantity { Value = (decimal)value, Unit = code.UnitDisplay, System = Ucum, Code = code.UcumCode },
            Device = source is { Name.Length: > 0 } ? new ResourceReference { Display = source.Name } : null,
        };
        _writer.WriteStartObject();
        _writer.WritePropertyName("resource");
        JsonSerializer.Serialize(_writer, observation, Fhir);
        _writer.WriteEndObject();
        _tally.Wrote(type);
    }

    private FhirDateTime Time(DateTimeOffset instant) => new(SampleRows.Local(instant.ToUnixTimeMilliseconds(), _zone));
}
