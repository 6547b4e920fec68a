using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Cli.Tests.Infrastructure;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using DataType = HealthGrpc.Contracts.V1.DataType;
using Record = HealthGrpc.Contracts.V1.Record;
using Task = System.Threading.Tasks.Task;

namespace HealthGrpc.Cli.Tests.Reads;

/// <summary>
/// Records and series in `export`: on top of the read fixture, three records in several versions (one deleted at last)
/// and an irregular heart-rate series, uploaded through the real Upload RPC.
/// </summary>
public sealed class ExportRecordsTests
{
    private const string Survey = "com.example/survey";
    private const string Plan = "com.example/plan";
    private const string SurveyAnswer = """{"question":"mood","answer":4}""";
    private static readonly byte[] PlanPayload = [0x08, 0x96, 0x01];
    private static readonly Guid IrregularUuid = new("00000000-0000-0000-0000-0000000000c2");
    private static readonly DateTimeOffset Modified = ReadFixture.Origin.AddHours(1);

    /// <summary>The irregular series' points: (milliseconds after Origin + 40 min, bpm).</summary>
    private static readonly (long Ms, int Bpm)[] IrregularPoints = [(0, 80), (1000, 82), (3500, 81)];

    [Fact]
    public async Task ExportCsvAndJson_WriteTheNewestVersionOfEachLiveRecord_InItsOwnColumns_AndNoneWhenTypesAreChosen()
    {
        using var f = await ReadFixture.StartAsync();
        await UploadAsync(f);

        var csv = (await Healthgrpc.RunAsync(f.Args(["export", "csv"], "--page-size", "2"))).Succeeded();
        var json = (await Healthgrpc.RunAsync(f.Args(["export", "json"]))).Succeeded().Json();
        var typed = (await Healthgrpc.RunAsync(f.Args(["export", "json"], "--types", "heart-rate"))).Succeeded().Json();

        var lines = csv.Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("kind,uuid,type,start,end,value,unit,category,sourceKind,sourceName,deviceId,recordId,version,contentType,payloadEncoding,payload", lines[0]);
        var items = ReadFixture.Items + IrregularPoints.Length;
        Assert.Equal(items + 2 + 1, lines.Length);
        Assert.Contains($"{items + 2} written to stdout, 0 skipped.", csv.Stderr, StringComparison.Ordinal);

        var records = json.EnumerateArray().Where(row => row.GetProperty("kind").GetString() == "record").ToList();
        Assert.Equal([(Plan, "p1", 5UL), (Survey, "s1", 2UL)], records.Select(r => (r.GetProperty("type").GetString(), r.GetProperty("recordId").GetString(), r.GetProperty("version").GetUInt64())));
        var answer = records[1];
        Assert.Equal(("utf-8", SurveyAnswer, "application/json"), (answer.GetProperty("payloadEncoding").GetString(), answer.GetProperty("payload").GetString(), answer.GetProperty("contentType").GetString()));
        Assert.Equal(Modified, answer.GetProperty("start").GetDateTimeOffset());
        Assert.Equal(Batches.Device.DeviceId, answer.GetProperty("deviceId").GetString());
        Assert.Equal(("base64", Convert.ToBase64String(PlanPayload)), (records[0].GetProperty("payloadEncoding").GetString(), records[0].GetProperty("payload").GetString()));

        // The irregular series' points are rows of their own, at their own times.
        var points = json.EnumerateArray().Where(row => row.GetProperty("uuid").GetString() == IrregularUuid.ToString()).ToList();
        Assert.Equal(IrregularPoints.Select(p => ("series", ReadFixture.Origin.AddMinutes(40).AddMilliseconds(p.Ms), (double)p.Bpm)), points.Select(p => (p.GetProperty("kind").GetString()!, p.GetProperty("start").GetDateTimeOffset(), p.GetProperty("value").GetDouble())));

        Assert.DoesNotContain(typed.EnumerateArray(), row => row.GetProperty("kind").GetString() == "record");
    }

    [Fact]
    public async Task ExportFhir_RecordsAreDocumentReferences_AndAnIrregularSeriesAnObservationPerPoint()
    {
        using var f = await ReadFixture.StartAsync();
        await UploadAsync(f);
        using var directory = new TempStore();
        var file = Path.Combine(Path.GetDirectoryName(directory.Path)!, "export.fhir.json");

        var run = (await Healthgrpc.RunAsync(f.Args(["export", "fhir"], "--output", file, "--owner", "alice"))).Succeeded();

        // The strict Firely deserializer: an unknown element, a wrong type or a bad value fails the parse.
        var bundle = JsonSerializer.Deserialize<Bundle>(await File.ReadAllTextAsync(file), new JsonSerializerOptions().ForFhir())!;
        var documents = bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>().ToList();
        Assert.Equal([(Plan, "p1", "5"), (Survey, "s1", "2")], documents.Select(d => (d.Type!.Text, d.MasterIdentifier!.Value, d.Meta!.VersionId)));
        var answer = documents[1];
        var attachment = answer.Content.Single().Attachment;
        Assert.Equal(("application/json", SurveyAnswer), (attachment.ContentType, System.Text.Encoding.UTF8.GetString(attachment.Data!)));
        Assert.Equal(("urn:healthgrpc:record:" + Survey, DocumentReferenceStatus.Current, "alice"), (answer.MasterIdentifier!.System, answer.Status, answer.Subject!.Identifier!.Value));
        Assert.Equal(Modified, answer.Date);
        Assert.Equal(PlanPayload, documents[0].Content.Single().Attachment.Data);

        var irregular = bundle.Entry.Select(e => e.Resource).OfType<Observation>()
            .Where(o => o.Identifier.Single().Value!.StartsWith($"urn:uuid:{IrregularUuid}#", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            IrregularPoints.Select((p, i) => ($"urn:uuid:{IrregularUuid}#{i}", ReadFixture.Origin.AddMinutes(40).AddMilliseconds(p.Ms), (decimal?)p.Bpm)),
            irregular.Select(o => (o.Identifier.Single().Value!, Assert.IsType<FhirDateTime>(o.Effective).ToDateTimeOffset(TimeSpan.Zero), Assert.IsType<Quantity>(o.Value).Value)));
        Assert.Matches(@"com\.example/survey\s*[│|]\s*1\s*[│|]\s*0", run.Stderr);
    }

    /// <summary>Version 1 of two surveys and a plan, then survey s1's version 2 and s2's deletion, and the irregular series.</summary>
    private static async Task UploadAsync(ReadFixture f)
    {
        var first = new Batch { BatchSeq = 2 };
        first.Records.Add(Version(Survey, "s1", 1, """{"question":"mood","answer":3}"""));
        first.Records.Add(Version(Survey, "s2", 1, """{"question":"sleep","answer":2}"""));
        first.Records.Add(new Record { RecordType = Plan, RecordId = "p1", Version = 5, ContentType = "application/x-protobuf", Payload = ByteString.CopyFrom(PlanPayload), ModifiedTime = Timestamp.FromDateTimeOffset(Modified) });
        var second = new Batch { BatchSeq = 3 };
        second.Records.Add(Version(Survey, "s1", 2, SurveyAnswer));
        second.Records.Add(new Record { RecordType = Survey, RecordId = "s2", Version = 2, Deleted = true, ModifiedTime = Timestamp.FromDateTimeOffset(Modified) });
        var series = new Series { Uuid = SampleUuid.ToByteString(IrregularUuid), Type = DataType.HeartRate, Unit = "count/min", Source = new Source { Kind = DeviceKind.Watch, Name = "Test Watch" } };
        SeriesColumns.Encode(series, IrregularPoints.Select(p => new SeriesPoint(ReadFixture.Origin.AddMinutes(40).ToUnixTimeMilliseconds() + p.Ms, p.Bpm)).ToArray());
        Assert.Equal(0u, series.IntervalMs);
        second.Series.Add(series);

        foreach (var batch in new[] { first, second })
        {
            var ack = (await f.Server.Client.UploadAsync(new UploadRequest { Device = Batches.Device, Batch = batch }, ServeProcess.Bearer(f.Token)).ResponseAsync.Bounded()).Ack;
            Assert.True(ack.Outcome == AckOutcome.Committed && ack.Rejected == 0, $"batch {batch.BatchSeq} was not stored whole: {ack}");
        }
    }

    private static Record Version(string type, string id, ulong version, string json) => new()
    {
        RecordType = type, RecordId = id, Version = version, ContentType = "application/json",
        Payload = ByteString.CopyFromUtf8(json), ModifiedTime = Timestamp.FromDateTimeOffset(Modified),
    };
}
