using System.CommandLine;
using HealthGrpc.LoadTest;

// healthgrpc-loadtest [scenario] [options]: see bench/README.md.
var scenarioArg = new Argument<string>("scenario")
{
    Description = "custom | steady-1hz | backfill | burst-reconnect | series | ecg | layouts (raw-insert limit of the samples layouts) | subscribe (live subscribers' commit->delivery latency)",
    DefaultValueFactory = _ => "custom",
};
var devices = new Option<int?>("--devices") { Description = "Simulated devices (one Sync stream each)" };
var rateHz = new Option<double?>("--rate-hz") { Description = "Sample rate per device (data time spacing)" };
var seconds = new Option<double?>("--seconds") { Description = "Seconds of data per device (samples = rate x seconds)" };
var samples = new Option<long?>("--samples") { Description = "Samples per device (overrides --seconds)" };
var batchSize = new Option<int?>("--batch-size") { Description = "Samples (or series points) per batch" };
var encoding = new Option<string?>("--encoding") { Description = "discrete | series | waveform" };
var duplicateRatio = new Option<double?>("--duplicate-ratio") { Description = "Fraction of each batch that re-sends samples of the previous batch (discrete only)" };
var inFlight = new Option<int?>("--in-flight") { Description = "Batches in flight per stream (server limit 16)" };
var latencyPhase = new Option<bool?>("--latency-phase") { Description = "After the max-throughput phase, run a paced phase at half the measured rate and report its ack latency" };
var latencySeconds = new Option<int>("--latency-seconds") { Description = "Duration of the paced half-load phase", DefaultValueFactory = _ => 15 };
var naive = new Option<int>("--naive-samples") { Description = "Samples for the one-unary-Upload-per-sample baseline (0 = skip)", DefaultValueFactory = _ => 5_000 };
var json = new Option<long>("--json-baseline-samples") { Description = "Samples for the JSON-over-HTTP/1.1 batch endpoint baseline (default: as many as the main phase, so the store does the same work; 0 = skip)", DefaultValueFactory = _ => long.MaxValue };
var inProc = new Option<bool>("--inproc") { Description = "Host the server in this process (CPU/RSS then include the client)" };
var output = new Option<string?>("--json") { Description = "Append the result as one JSON line to this file" };
var layoutSizes = new Option<string>("--layout-sizes") { Description = "layouts: comma-separated table sizes (rows) at which the insert rate is timed", DefaultValueFactory = _ => "3600000,20000000" };
var layoutRows = new Option<int>("--layout-rows") { Description = "layouts: timed random-uuid rows at each size", DefaultValueFactory = _ => 500_000 };
var layoutCache = new Option<int?>("--layout-cache-mib") { Description = "layouts: writer page cache in MiB (default: the store's default)" };
var subscribers = new Option<int>("--subscribers") { Description = "subscribe: live subscribers of the one user", DefaultValueFactory = _ => 1000 };
var subscribeRate = new Option<int>("--batches-per-second") { Description = "subscribe: paced uploads per second", DefaultValueFactory = _ => 20 };
var serverDll = new Option<string?>("--server-dll") { Description = "Run this healthgrpc.dll as the server (e.g. another build, for a before/after)" };
var layoutOnly = new Option<string?>("--layouts") { Description = "layouts: comma-separated layouts to run (old, new, rowid; default all)" };

var root = new RootCommand("HealthGrpc end-to-end load harness")
{
    scenarioArg, devices, rateHz, seconds, samples, batchSize, encoding, duplicateRatio, inFlight, latencyPhase, latencySeconds, naive, json, inProc, output,
    layoutSizes, layoutRows, layoutOnly, layoutCache, subscribers, subscribeRate, serverDll,
};
root.SetAction(async (parse, ct) =>
{
    if (parse.GetValue(scenarioArg) == "layouts")
    {
        var sizes = parse.GetValue(layoutSizes)!.Split(',').Select(long.Parse).ToList();
        return LayoutComparison.Run(sizes, parse.GetValue(layoutRows), parse.GetValue(layoutOnly)?.Split(',') ?? [], parse.GetValue(layoutCache));
    }

    if (parse.GetValue(scenarioArg) == "subscribe")
    {
        return await SubscribeRun.RunAsync(
            parse.GetValue(subscribers), parse.GetValue(subscribeRate), parse.GetValue(batchSize) ?? 50, (int)(parse.GetValue(seconds) ?? 30),
            parse.GetValue(inProc), parse.GetValue(serverDll), ct);
    }

    var s = Settings.ForScenario(parse.GetValue(scenarioArg)!);
    s = s with
    {
        Devices = parse.GetValue(devices) ?? s.Devices,
        RateHz = parse.GetValue(rateHz) ?? s.RateHz,
        BatchSize = parse.GetValue(batchSize) ?? s.BatchSize,
        Encoding = parse.GetValue(encoding) ?? s.Encoding,
        DuplicateRatio = parse.GetValue(duplicateRatio) ?? s.DuplicateRatio,
        InFlight = parse.GetValue(inFlight) ?? s.InFlight,
        LatencyPhase = parse.GetValue(latencyPhase) ?? s.LatencyPhase,
        LatencySeconds = parse.GetValue(latencySeconds),
        NaiveSamples = parse.GetValue(naive),
        JsonSamples = parse.GetValue(json),
        InProc = parse.GetValue(inProc),
        JsonPath = parse.GetValue(output),
    };
    if (parse.GetValue(samples) is { } n)
    {
        s = s with { SamplesPerDevice = n };
    }
    else if (parse.GetValue(seconds) is { } sec)
    {
        s = s with { SamplesPerDevice = (long)Math.Round(sec * s.RateHz) };
    }

    return await LoadRun.RunAsync(s, ct);
});

return await root.Parse(args).InvokeAsync();
