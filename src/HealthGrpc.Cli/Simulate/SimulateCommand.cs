using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Contracts.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HealthGrpc.Cli.Simulate;

/// <summary>
/// `healthgrpc simulate`: a fleet of devices for demos and soak tests. Each device is a raw Sync stream, not an SDK client:
/// a thousand SDK clients would be a thousand local SQLite queues fsyncing on this machine, and the fleet would measure the
/// client's disk instead of the server; a raw stream also measures each batch's send-to-ack lag exactly.
/// </summary>
internal static partial class SimulateCommand
{
    public static Command Build()
    {
        var devices = new Option<int>("--devices") { Description = "Simulated devices, one Sync stream each (1..10000)", DefaultValueFactory = _ => 10, HelpName = "N" };
        var rate = new Option<double>("--rate-hz") { Description = "Heart-rate readings per second per device (0.01..1000): one batch per reading up to 10 Hz, else 10 batches a second", DefaultValueFactory = _ => 1, HelpName = "R" };
        var duration = new Option<string>("--duration") { Description = "How long the fleet sends, from when every device is connected (at most 10 s of connecting): 30s, 5m, 1h or hh:mm:ss (default 30s); then it waits up to 10 s for the last acks", DefaultValueFactory = _ => "30s", HelpName = "D" };
        var server = ServerOptions.Server();
        var token = ServerOptions.Token();
        var allowInsecure = ServerOptions.AllowInsecure();
        var command = new Command("simulate", "Run a fleet of simulated devices against a server (demos, soak tests): a live table of acks/s and lag, then a summary")
        {
            devices, rate, duration, server, token, allowInsecure, Terminal.JsonOption,
        };
        command.SetAction(async (parse, ct) =>
        {
            var n = parse.GetValue(devices);
            var hz = parse.GetValue(rate);
            if (n is < 1 or > 10_000)
            {
                return Terminal.Fail($"--devices {n}: expected 1..10000.");
            }

            if (hz is < 0.01 or > 1000 || double.IsNaN(hz))
            {
                return Terminal.Fail($"--rate-hz {hz.ToString(CultureInfo.InvariantCulture)}: expected 0.01..1000.");
            }

            if (ParseDuration(parse.GetValue(duration)!) is not { } length)
            {
                return Terminal.Fail($"--duration {parse.GetValue(duration)}: expected 30s, 5m, 1h or hh:mm:ss.");
            }

            if (ServerOptions.Resolve(parse, server, token) is not ({ } address, { } bearer))
            {
                return 1;
            }

            if (address.Scheme == Uri.UriSchemeHttp && !address.IsLoopback && !parse.GetValue(allowInsecure))
            {
                return Terminal.Fail($"--server {address} is http:// to a non-loopback host: the token would travel in clear (use https://, or --allow-insecure).");
            }

            return await RunAsync(address, bearer, n, hz, length, parse.GetValue(Terminal.JsonOption), ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(Uri server, string token, int devices, double rateHz, TimeSpan duration, bool json, CancellationToken ct)
    {
        using var channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, ConnectTimeout = TimeSpan.FromSeconds(10) },
        });
        var client = new SyncService.SyncServiceClient(channel);
        var stats = new FleetStats();
        var run = Guid.NewGuid().ToString("N")[..8];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clock = Stopwatch.StartNew();
        var fleet = Task.WhenAll(Enumerable.Range(0, devices).Select(i =>
            Task.Run(() => new SimulatedDevice(client, token, $"simulate-{run}-{i}", rateHz, stats).RunAsync(TimeSpan.FromSeconds(10), stop.Token), CancellationToken.None)));
        // The duration counts from when the whole fleet is connected (at most 10 s of connecting): a busy server or box
        // must not eat a short run's sending time.
        while (stats.Connected < devices && clock.Elapsed < TimeSpan.FromSeconds(10) && !fleet.IsCompleted)
        {
            await Task.Delay(20, CancellationToken.None);
        }

        stop.CancelAfter(duration);
        await ShowWhileAsync(stats, clock, devices, fleet);
        await fleet;
        clock.Stop();
        WriteSummary(stats, clock.Elapsed, devices, rateHz, json);
        return 0;
    }

    /// <summary>A live table on stderr, refreshed every second; a plain line every 5 s when stderr is not a terminal.</summary>
    private static async Task ShowWhileAsync(FleetStats stats, Stopwatch clock, int devices, Task fleet)
    {
        long lastAcks = 0;
        var last = TimeSpan.Zero;
        IRenderable Snapshot(out string line)
        {
            var now = clock.Elapsed;
            var acks = stats.Acks;
            var rate = (acks - lastAcks) / Math.Max((now - last).TotalSeconds, 0.001);
            (lastAcks, last) = (acks, now);
            line = string.Create(CultureInfo.InvariantCulture, $"{now.TotalSeconds:0}s: {stats.Connected}/{devices} connected, {rate:N0} acks/s, {stats.Accepted:N0} stored, lag p50 {stats.LagPercentileMs(0.5)} ms p99 {stats.LagPercentileMs(0.99)} ms, {stats.Errors} stream errors");
            return new Table().AddColumns("elapsed", "connected", "acks/s", "acks", "samples stored", "duplicates", "rejected", "lag p50", "lag p99", "lag max", "stream errors", "ticks skipped")
                .AddRow(
                    $"{now.TotalSeconds:0} s", $"{stats.Connected}/{devices}", rate.ToString("N0", CultureInfo.InvariantCulture), N(acks), N(stats.Accepted), N(stats.Duplicates), N(stats.Rejected),
                    $"{stats.LagPercentileMs(0.5)} ms", $"{stats.LagPercentileMs(0.99)} ms", $"{stats.MaxLagMs} ms", N(stats.Errors), N(stats.SkippedTicks));
        }

        if (Console.IsErrorRedirected)
        {
            while (await Task.WhenAny(fleet, Task.Delay(TimeSpan.FromSeconds(5))) != fleet)
            {
                Snapshot(out var line);
                Console.Error.WriteLine(line);
            }

            return;
        }

        await Terminal.Error.Live(Snapshot(out _)).StartAsync(async context =>
        {
            while (await Task.WhenAny(fleet, Task.Delay(TimeSpan.FromSeconds(1))) != fleet)
            {
                context.UpdateTarget(Snapshot(out _));
            }
        });
    }

    private static void WriteSummary(FleetStats stats, TimeSpan elapsed, int devices, double rateHz, bool json)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        if (json)
        {
            Terminal.WriteJson(new
            {
                devices,
                rateHz,
                seconds = Math.Round(seconds, 3),
                batchesSent = stats.BatchesSent,
                samplesSent = stats.SamplesSent,
                acks = stats.Acks,
                accepted = stats.Accepted,
                duplicates = stats.Duplicates,
                rejected = stats.Rejected,
                acksPerSecond = Math.Round(stats.Acks / seconds, 1),
                lagP50Ms = stats.LagPercentileMs(0.5),
                lagP99Ms = stats.LagPercentileMs(0.99),
                lagMaxMs = stats.MaxLagMs,
                streamErrors = stats.Errors,
                skippedTicks = stats.SkippedTicks,
            });
            return;
        }

        var table = new Table().AddColumns("devices", "seconds", "batches sent", "samples sent", "acks", "stored", "duplicates", "rejected", "acks/s", "lag p50", "lag p99", "lag max", "stream errors")
            .AddRow(
                N(devices), seconds.ToString("0.0", CultureInfo.InvariantCulture), N(stats.BatchesSent), N(stats.SamplesSent), N(stats.Acks), N(stats.Accepted), N(stats.Duplicates), N(stats.Rejected),
                (stats.Acks / seconds).ToString("N0", CultureInfo.InvariantCulture), $"{stats.LagPercentileMs(0.5)} ms", $"{stats.LagPercentileMs(0.99)} ms", $"{stats.MaxLagMs} ms", N(stats.Errors));
        Terminal.Out.Write(table);
    }

    /// <summary>30s, 5m, 1h, or a TimeSpan (hh:mm:ss).</summary>
    private static TimeSpan? ParseDuration(string text)
    {
        var match = DurationPattern().Match(text.Trim());
        if (match.Success)
        {
            var amount = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            var length = match.Groups[2].Value switch { "s" => TimeSpan.FromSeconds(amount), "m" => TimeSpan.FromMinutes(amount), _ => TimeSpan.FromHours(amount) };
            return amount > 0 ? length : null;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero ? span : null;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    [GeneratedRegex("^([0-9]{1,6})([smh])$")]
    private static partial Regex DurationPattern();
}
