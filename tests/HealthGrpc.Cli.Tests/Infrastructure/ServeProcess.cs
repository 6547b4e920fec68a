using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Tests.Infrastructure;

/// <summary>`healthgrpc serve` on an ephemeral loopback port over a store file, with a client channel to it.</summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly ChannelReader<string> _stdout;

    private ServeProcess(Process process, ChannelReader<string> stdout, Uri address, IReadOnlyList<string> startupLines)
    {
        _process = process;
        _stdout = stdout;
        Address = address;
        StartupLines = startupLines;
        Channel = GrpcChannel.ForAddress(address);
        Client = new SyncService.SyncServiceClient(Channel);
    }

    /// <summary>The http:// address the server listens on.</summary>
    public Uri Address { get; }

    /// <summary>What the server printed to stdout before it listened (its start-up log).</summary>
    public IReadOnlyList<string> StartupLines { get; }

    public GrpcChannel Channel { get; }

    public SyncService.SyncServiceClient Client { get; }

    public static async Task<ServeProcess> StartAsync(string store, params string[] extra)
    {
        var process = Healthgrpc.Start(["serve", "--urls", "http://127.0.0.1:0", "--store", store, .. extra]);
        var stdout = PumpLines(process.StandardOutput);
        using var timeout = new CancellationTokenSource(Timeouts.Default);
        var startup = new List<string>();
        await foreach (var line in stdout.ReadAllAsync(timeout.Token))
        {
            // Matched in the line, not at its start: the "simple" and the "json" console formats both carry it.
            if (ListeningOn().Match(line) is { Success: true } listening)
            {
                return new ServeProcess(process, stdout, new Uri(listening.Groups["address"].Value), startup);
            }

            startup.Add(line);
        }

        var error = await process.StandardError.ReadToEndAsync().Bounded();
        process.Dispose();
        throw new Xunit.Sdk.XunitException($"healthgrpc serve exited before listening: {error}");
    }

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    /// <summary>
    /// The next line the server prints to stdout (after those already read) for which <paramref name="match"/> holds;
    /// fails the test if the server exits or stays silent for <see cref="Timeouts.Default"/>.
    /// </summary>
    public async Task<string> NextLineAsync(Func<string, bool> match)
    {
        using var timeout = new CancellationTokenSource(Timeouts.Default);
        var skipped = new List<string>();
        try
        {
            while (await _stdout.WaitToReadAsync(timeout.Token))
            {
                while (_stdout.TryRead(out var line))
                {
                    if (match(line))
                    {
                        return line;
                    }

                    skipped.Add(line);
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
        }

        throw new Xunit.Sdk.XunitException($"healthgrpc serve printed no matching line; it printed:\n{string.Join('\n', skipped)}");
    }

    public void Dispose()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(Timeouts.Default);
        }

        _process.Dispose();
    }

    /// <summary>Reads stdout to its end on its own, so the child never blocks on a full pipe whether a test reads it or not.</summary>
    private static ChannelReader<string> PumpLines(StreamReader output)
    {
        var lines = System.Threading.Channels.Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = true });
        _ = Task.Run(async () =>
        {
            while (await output.ReadLineAsync() is { } line)
            {
                lines.Writer.TryWrite(line);
            }

            lines.Writer.TryComplete();
        });
        return lines.Reader;
    }

    [GeneratedRegex(@"Now listening on: (?<address>https?://[^\s""]+)")]
    private static partial Regex ListeningOn();
}
