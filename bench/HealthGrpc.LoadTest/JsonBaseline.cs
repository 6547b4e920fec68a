using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Services;
using HealthGrpc.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthGrpc.LoadTest;

/// <summary>
/// What teams build when they skip gRPC: a JSON batch endpoint over HTTP/1.1 (keep-alive, one connection per device),
/// one self-describing object per sample (string uuid, type, ISO timestamps, double value, unit, source). It runs on
/// Kestrel over the SAME ingest pipeline and store as the gRPC server (validation, normalization, dedup, group commit,
/// durable ack), so the comparison isolates the transport and encoding.
/// </summary>
internal static class JsonBaseline
{
    private const string UserId = "json-user";

    public static async Task<(double SamplesPerSecond, double BodyBytesPerSample, long Stored)> RunAsync(int devices, long samplesPerDevice, int batchSize, CancellationToken ct)
    {
        var path = ServerUnderTest.FreshDatabasePath("json.db");
        await using var store = await SqliteHealthStore.OpenAsync(path, ct: ct);
        await store.CreateUserAsync(UserId, ct);
        var limits = new IngestLimits();
        var pipeline = new IngestPipeline(store, limits, new IngestBudget(limits), TimeProvider.System, AckWire.Encode);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1));
        await using var app = builder.Build();
        app.MapPost("/v1/batches", async (HttpContext http) =>
        {
            var body = await JsonSerializer.DeserializeAsync(http.Request.Body, JsonBaselineContext.Default.JsonBatch, http.RequestAborted)
                ?? throw new Microsoft.AspNetCore.Http.BadHttpRequestException("empty body");
            var device = new DeviceIdentity { DeviceId = body.DeviceId, Epoch = body.Epoch };
            var ack = AckWire.ToAck(await await pipeline.AdmitAsync(UserId, device, ToBatch(body), http.RequestAborted));
            await JsonSerializer.SerializeAsync(http.Response.Body, new JsonAck(ack.BatchSeq, ack.Outcome.ToString(), (int)ack.Accepted, (int)ack.Duplicates, (int)ack.Rejected), JsonBaselineContext.Default.JsonAck, http.RequestAborted);
        });
        await app.StartAsync(ct);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

        // Pre-serialize every request body: the clock covers the HTTP exchange, parsing, ingest and commit, as for gRPC.
        var startMs = DateTimeOffset.UtcNow.AddDays(-30).ToUnixTimeMilliseconds();
        var bodies = new List<byte[]>[devices];
        long bodyBytes = 0;
        for (var d = 0; d < devices; d++)
        {
            bodies[d] = [];
            for (long j = 0, seq = 1; j < samplesPerDevice; j += batchSize, seq++)
            {
                var n = (int)Math.Min(batchSize, samplesPerDevice - j);
                var samples = new List<JsonSample>(n);
                for (var k = 0; k < n; k++)
                {
                    var at = DateTimeOffset.FromUnixTimeMilliseconds(startMs + ((j + k) * 1000));
                    samples.Add(new JsonSample(Guid.NewGuid().ToString(), "heart_rate", at, at, 60 + ((j + k) % 40), "count/min", "Watch", "watch"));
                }

                var json = JsonSerializer.SerializeToUtf8Bytes(new JsonBatch($"json-{d}", 1, seq, samples), JsonBaselineContext.Default.JsonBatch);
                bodyBytes += json.Length;
                bodies[d].Add(json);
            }
        }

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = devices }) { BaseAddress = address };
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, devices).Select(d => Task.Run(async () =>
        {
            foreach (var body in bodies[d])
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/json");
                using var response = await http.PostAsync("/v1/batches", content, ct);
                response.EnsureSuccessStatusCode();
                var ack = await JsonSerializer.DeserializeAsync(await response.Content.ReadAsStreamAsync(ct), JsonBaselineContext.Default.JsonAck, ct);
                if (ack is null || ack.Outcome != nameof(AckOutcome.Committed) || ack.Rejected != 0)
                {
                    throw new InvalidOperationException($"JSON batch not committed: {ack}");
                }
            }
        }, ct)));
        var elapsed = clock.Elapsed;
        await app.StopAsync(ct);
        var total = devices * samplesPerDevice;
        return (total / elapsed.TotalSeconds, (double)bodyBytes / total, await store.CountSamplesAsync(UserId, ct));
    }

    /// <summary>The endpoint's mapping to the domain: one sample set per (type, unit, source), absolute times as offsets.</summary>
    private static Batch ToBatch(JsonBatch body)
    {
        var baseTime = body.Samples.Count > 0 ? body.Samples[0].Start : DateTimeOffset.UnixEpoch;
        var set = new SampleSet
        {
            Type = DataType.HeartRate,
            Unit = body.Samples.Count > 0 ? body.Samples[0].Unit : string.Empty,
            BaseTime = Timestamp.FromDateTimeOffset(baseTime),
            Source = new Source { Kind = DeviceKind.Watch, Name = body.Samples.Count > 0 ? body.Samples[0].SourceName : string.Empty },
        };
        foreach (var sample in body.Samples)
        {
            set.Samples.Add(new Sample
            {
                Uuid = SampleUuid.ToByteString(Guid.Parse(sample.Uuid)),
                StartOffsetMs = (long)(sample.Start - baseTime).TotalMilliseconds,
                DurationMs = (ulong)(sample.End - sample.Start).TotalMilliseconds,
                DoubleValue = sample.Value,
            });
        }

        return new Batch { BatchSeq = (ulong)body.BatchSeq, SampleSets = { set } };
    }
}

internal sealed record JsonBatch(string DeviceId, ulong Epoch, long BatchSeq, List<JsonSample> Samples);

internal sealed record JsonSample(string Uuid, string Type, DateTimeOffset Start, DateTimeOffset End, double Value, string Unit, string SourceName, string SourceKind);

internal sealed record JsonAck(ulong BatchSeq, string Outcome, int Accepted, int Duplicates, int Rejected);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(JsonBatch))]
[JsonSerializable(typeof(JsonAck))]
internal sealed partial class JsonBaselineContext : JsonSerializerContext;
