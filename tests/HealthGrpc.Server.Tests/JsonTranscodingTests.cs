using System.Net;
using System.Text.Json;
using HealthGrpc.Contracts;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// Server:JsonTranscoding: Upload, GetCheckpoint and the reads as JSON over plain HTTP/1.1, with the same auth, limits,
/// dedup and error details as gRPC. The client is a bare <see cref="HttpClient"/> writing JSON by hand, as a vendor
/// gateway that has no protobuf toolchain would.
/// </summary>
public sealed class JsonTranscodingTests
{
    private static readonly DateTimeOffset BaseTime = new(DateTime.UtcNow.Date.AddDays(-1), TimeSpan.Zero);

    /// <summary>An UploadRequest in proto3 JSON: heart rate samples one second apart, from <see cref="BaseTime"/>.</summary>
    internal static string UploadJson(string deviceId, ulong epoch, ulong batchSeq, IEnumerable<Guid> uuids, bool atomic = false, long value = 72)
    {
        var samples = uuids.Select((uuid, i) => new Dictionary<string, object>
        {
            ["uuid"] = Convert.ToBase64String(SampleUuid.ToByteString(uuid).ToByteArray()),
            ["startOffsetMs"] = (i * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["scaledValue"] = value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["device"] = new { deviceId, epoch = epoch.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ["batch"] = new Dictionary<string, object>
            {
                ["batchSeq"] = batchSeq.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["atomic"] = atomic,
                ["anchors"] = new[] { new { type = "DATA_TYPE_HEART_RATE", anchor = Convert.ToBase64String("anchor-1"u8.ToArray()) } },
                ["sampleSets"] = new[]
                {
                    new Dictionary<string, object>
                    {
                        ["type"] = "DATA_TYPE_HEART_RATE",
                        ["unit"] = "count/min",
                        ["baseTime"] = BaseTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
                        ["source"] = new { kind = "DEVICE_KIND_WATCH", name = "Gateway Watch", manufacturer = "Acme" },
                        ["samples"] = samples,
                    },
                },
            },
        });
    }

    private static string ReadSamplesJson(string types = "\"DATA_TYPE_HEART_RATE\"", DateTimeOffset? start = null, DateTimeOffset? end = null) =>
        $$"""{"types":[{{types}}],"startTime":"{{Rfc3339(start ?? BaseTime.AddHours(-1))}}","endTime":"{{Rfc3339(end ?? BaseTime.AddDays(1))}}"}""";

    private static string Rfc3339(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task An_upload_over_http1_json_is_acked_and_its_replay_is_a_duplicate()
    {
        await using var server = await HttpJsonServer.StartAsync("--Server:JsonTranscoding", "true");
        var token = await server.CreateUserAsync("gateway");
        var uuids = Batches.NewUuids(3);

        var first = await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 1, uuids));
        Assert.Equal((HttpStatusCode.OK, HttpVersion.Version11, "application/json"), (first.Status, first.Version, first.MediaType));
        var ack = first.Json.GetProperty("ack");
        Assert.Equal(("ACK_OUTCOME_COMMITTED", 3), (ack.GetProperty("outcome").GetString(), ack.GetProperty("accepted").GetInt32()));

        // The same batch_seq again (a gateway retrying after a lost answer): the original ack, flagged duplicate.
        var replay = await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 1, uuids));
        Assert.Equal(HttpStatusCode.OK, replay.Status);
        Assert.Equal(("ACK_OUTCOME_DUPLICATE", 3), (replay.Json.GetProperty("ack").GetProperty("outcome").GetString(), replay.Json.GetProperty("ack").GetProperty("accepted").GetInt32()));

        // The same samples in a new batch: per-sample dedup by uuid stores nothing twice.
        var again = await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 2, uuids));
        Assert.Equal(("ACK_OUTCOME_COMMITTED", 3), (again.Json.GetProperty("ack").GetProperty("outcome").GetString(), again.Json.GetProperty("ack").GetProperty("duplicates").GetInt32()));

        var read = await server.PostAsync("/v1/samples:read", token, ReadSamplesJson());
        Assert.Equal(HttpStatusCode.OK, read.Status);
        var stored = read.Json.GetProperty("samples").EnumerateArray()
            .Select(sample => SampleUuid.ToGuid(Google.Protobuf.ByteString.FromBase64(sample.GetProperty("uuid").GetString()!))).Order();
        Assert.Equal(uuids.Order(), stored);
    }

    [Fact]
    public async Task A_missing_or_unknown_token_is_401_with_a_json_status_body()
    {
        await using var server = await HttpJsonServer.StartAsync("--Server:JsonTranscoding", "true");
        var body = UploadJson("strap-1", 1, 1, Batches.NewUuids(1));

        foreach (var token in new[] { null, "hg_not-a-token" })
        {
            var refused = await server.PostAsync("/v1/uploads", token, body);
            Assert.Equal((HttpStatusCode.Unauthorized, "application/json"), (refused.Status, refused.MediaType));
            Assert.Equal(16, refused.Json.GetProperty("code").GetInt32()); // UNAUTHENTICATED
            Assert.Contains("bearer token", refused.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal(0, refused.Json.GetProperty("details").GetArrayLength());
        }

        var read = await server.GetAsync("/v1/devices/strap-1/checkpoint", "hg_not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, read.Status);
    }

    [Fact]
    public async Task Invalid_input_is_400_with_the_field_named()
    {
        await using var server = await HttpJsonServer.StartAsync("--Server:JsonTranscoding", "true");
        var token = await server.CreateUserAsync("gateway");

        var noDevice = await server.PostAsync("/v1/uploads", token, UploadJson("", 1, 1, Batches.NewUuids(1)));
        Assert.Equal(HttpStatusCode.BadRequest, noDevice.Status);
        Assert.Equal(3, noDevice.Json.GetProperty("code").GetInt32()); // INVALID_ARGUMENT
        Assert.Contains("device.device_id", noDevice.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("ERROR_REASON_PROTOCOL_VIOLATION", noDevice.ErrorDetail.GetProperty("reason").GetString());

        var backwards = await server.PostAsync("/v1/samples:read", token, ReadSamplesJson(start: BaseTime, end: BaseTime.AddDays(-1)));
        Assert.Equal(HttpStatusCode.BadRequest, backwards.Status);
        var violation = Assert.Single(backwards.Json.GetProperty("details").EnumerateArray());
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", violation.GetProperty("@type").GetString());
        Assert.Equal("end_time", Assert.Single(violation.GetProperty("fieldViolations").EnumerateArray()).GetProperty("field").GetString());

        var unknownType = await server.PostAsync("/v1/samples:read", token, ReadSamplesJson(types: "\"DATA_TYPE_NO_SUCH_THING\""));
        Assert.Equal(HttpStatusCode.BadRequest, unknownType.Status);

        var notJson = await server.PostAsync("/v1/uploads", token, "{\"device\": ");
        Assert.Equal((HttpStatusCode.BadRequest, 3), (notJson.Status, notJson.Json.GetProperty("code").GetInt32()));
    }

    [Fact]
    public async Task Refusals_carry_the_error_detail_and_the_limits_hold()
    {
        await using var server = await HttpJsonServer.StartAsync(
            "--Server:JsonTranscoding", "true", "--Quotas:MaxDevices", "1", "--Ingest:MaxSamplesPerBatch", "50", "--Ingest:MaxMessageBytes", "65536");
        var token = await server.CreateUserAsync("gateway");

        var gap = await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 5, Batches.NewUuids(1)));
        Assert.Equal((HttpStatusCode.BadRequest, 9), (gap.Status, gap.Json.GetProperty("code").GetInt32())); // FAILED_PRECONDITION
        Assert.Equal(("ERROR_REASON_SEQUENCE_GAP", "0"), (gap.ErrorDetail.GetProperty("reason").GetString(), gap.ErrorDetail.GetProperty("highWaterMark").GetString()));

        var tooMany = await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 1, Batches.NewUuids(51)));
        Assert.Equal((HttpStatusCode.TooManyRequests, 8), (tooMany.Status, tooMany.Json.GetProperty("code").GetInt32())); // RESOURCE_EXHAUSTED
        Assert.Equal("ERROR_REASON_BATCH_TOO_LARGE", tooMany.ErrorDetail.GetProperty("reason").GetString());

        // Over Ingest:MaxMessageBytes (the JSON body's size): refused before it is parsed.
        var oversize = await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 1, Batches.NewUuids(1000)));
        Assert.Equal((HttpStatusCode.TooManyRequests, 8), (oversize.Status, oversize.Json.GetProperty("code").GetInt32()));

        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 1, Batches.NewUuids(1)))).Status);
        var secondDevice = await server.PostAsync("/v1/uploads", token, UploadJson("strap-2", 1, 1, Batches.NewUuids(1)));
        Assert.Equal(HttpStatusCode.TooManyRequests, secondDevice.Status);
        Assert.Equal(("ERROR_REASON_QUOTA_EXCEEDED", "devices", "1"), (
            secondDevice.ErrorDetail.GetProperty("reason").GetString(), secondDevice.ErrorDetail.GetProperty("quota").GetString(),
            secondDevice.ErrorDetail.GetProperty("quotaLimit").GetString()));
    }

    [Fact]
    public async Task Checkpoint_samples_aggregates_and_changes_read_as_json()
    {
        await using var server = await HttpJsonServer.StartAsync("--Server:JsonTranscoding", "true");
        var token = await server.CreateUserAsync("gateway");
        Assert.Equal(HttpStatusCode.NotFound, (await server.GetAsync("/v1/devices/strap-1/checkpoint", token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 1, Batches.NewUuids(2), value: 70))).Status);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 2, Batches.NewUuids(2), value: 80))).Status);

        var checkpoint = await server.GetAsync("/v1/devices/strap-1/checkpoint", token);
        Assert.Equal(HttpStatusCode.OK, checkpoint.Status);
        Assert.Equal(("strap-1", "1", "2"), (
            checkpoint.Json.GetProperty("device").GetProperty("deviceId").GetString(), checkpoint.Json.GetProperty("device").GetProperty("epoch").GetString(),
            checkpoint.Json.GetProperty("highWaterMark").GetString()));
        var anchor = Assert.Single(checkpoint.Json.GetProperty("anchors").EnumerateArray());
        Assert.Equal("DATA_TYPE_HEART_RATE", anchor.GetProperty("type").GetString());

        var samples = await server.PostAsync("/v1/samples:read", token, ReadSamplesJson());
        Assert.Equal(4, samples.Json.GetProperty("samples").GetArrayLength());
        Assert.Equal(new[] { 70.0, 70, 80, 80 }, samples.Json.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("quantity").GetDouble()).Order());

        var aggregates = await server.PostAsync("/v1/aggregates:compute", token,
            $$"""{"type":"DATA_TYPE_HEART_RATE","startTime":"{{Rfc3339(BaseTime)}}","endTime":"{{Rfc3339(BaseTime.AddDays(1))}}","bucketSize":"BUCKET_SIZE_DAY","functions":["AGGREGATE_FUNCTION_AVG","AGGREGATE_FUNCTION_MAX"]}""");
        Assert.Equal(HttpStatusCode.OK, aggregates.Status);
        var day = Assert.Single(aggregates.Json.GetProperty("buckets").EnumerateArray());
        Assert.Equal((75.0, 80.0), (day.GetProperty("avg").GetDouble(), day.GetProperty("max").GetDouble()));

        var changes = await server.PostAsync("/v1/changes:list", token, "{}");
        Assert.Equal(HttpStatusCode.OK, changes.Status);
        Assert.Equal(4, changes.Json.GetProperty("changes").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(changes.Json.GetProperty("nextToken").GetString()));
    }

    [Fact]
    public async Task The_openapi_document_describes_the_transcoded_paths_and_their_bodies()
    {
        await using var server = await HttpJsonServer.StartAsync("--Server:JsonTranscoding", "true");

        var document = await server.GetAsync("/openapi/v1.json", token: null);

        Assert.Equal(HttpStatusCode.OK, document.Status);
        var paths = document.Json.GetProperty("paths");
        Assert.Equal(
            ["/v1/access-events", "/v1/aggregates:compute", "/v1/changes:list", "/v1/devices/{deviceId}/checkpoint", "/v1/grants",
             "/v1/grants/{grantId}:revoke", "/v1/samples:read", "/v1/uploads"],
            paths.EnumerateObject().Select(path => path.Name).Order(StringComparer.Ordinal));
        var upload = paths.GetProperty("/v1/uploads").GetProperty("post");
        Assert.Contains("One batch, unary", upload.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Equal("#/components/schemas/UploadRequest",
            upload.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        var schemas = document.Json.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.GetProperty("Batch").GetProperty("properties").TryGetProperty("batchSeq", out _), "Batch documents batchSeq");
        Assert.Equal("bearer", document.Json.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task Json_transcoding_is_off_unless_switched_on()
    {
        await using var server = await HttpJsonServer.StartAsync();
        var token = await server.CreateUserAsync("gateway");

        Assert.Equal(HttpStatusCode.NotFound, (await server.PostAsync("/v1/uploads", token, UploadJson("strap-1", 1, 1, Batches.NewUuids(1)))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await server.GetAsync("/openapi/v1.json", token: null)).Status);
    }
}
