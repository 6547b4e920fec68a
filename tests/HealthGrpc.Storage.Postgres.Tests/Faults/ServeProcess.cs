using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Tests;

namespace HealthGrpc.Storage.Postgres.Tests.Faults;

/// <summary>
/// The real `healthgrpc serve --provider postgres` (healthgrpc.dll next to the tests) as a child process on ephemeral
/// loopback ports (gRPC and the management endpoint), with a channel to it. <see cref="Kill"/> is SIGKILL: no drain,
/// no shutdown hook, like a crashed instance.
/// </summary>
internal sealed partial class ServeProcess : IDisposable
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "healthgrpc.dll");

    // Start-up of a fresh .NET process (JIT, SCRAM authentication to PostgreSQL) on a loaded 2-core box; the same bound
    // as tests/HealthGrpc.Cli.Tests gives its child processes.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _log;

    private ServeProcess(Process process, StringBuilder log, Uri address, Uri management)
    {
        (_process, _log, Address, Management) = (process, log, address, management);
        Channel = GrpcChannel.ForAddress(address);
        Sync = new SyncService.SyncServiceClient(Channel);
        Health = new Health.HealthClient(Channel);
    }

    public Uri Address { get; }

    /// <summary>The management endpoint (/readyz, /healthz, /metrics).</summary>
    public Uri Management { get; }

    public GrpcChannel Channel { get; }

    public SyncService.SyncServiceClient Sync { get; }

    public Health.HealthClient Health { get; }

    /// <summary>What the server printed so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>
    /// Starts `healthgrpc serve` on the PostgreSQL database of <paramref name="connectionString"/>; returns once it
    /// listens. <paramref name="settings"/> are "--Key", "value" pairs that add to or replace the tests' defaults.
    /// </summary>
    public static async Task<ServeProcess> StartAsync(string connectionString, params string[] settings)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["--Management:Url"] = "http://127.0.0.1:0",
            ["--Storage:HealthProbe:Interval"] = "00:00:00.2",
            ["--Storage:CommandTimeout"] = "00:00:10",
        };
        for (var i = 0; i + 1 < settings.Length; i += 2)
        {
            options[settings[i]] = settings[i + 1];
        }

        var process = Start([
            "serve", "--urls", "http://127.0.0.1:0", "--provider", "postgres", "--connection-string", connectionString,
            .. options.SelectMany(option => new[] { option.Key, option.Value })]);
        var log = new StringBuilder();
        var listening = new TaskCompletionSource<(Uri Grpc, Uri Management)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Uri? grpc = null, management = null;
        void OnLine(string? line)
        {
            if (line is null)
            {
                listening.TrySetException(new Xunit.Sdk.XunitException("healthgrpc serve exited before listening"));
                return;
            }

            lock (log)
            {
                log.AppendLine(line);
                grpc ??= Match(ListeningLine(), line);
                management ??= Match(ManagementLine(), line);
                if (grpc is not null && management is not null)
                {
                    listening.TrySetResult((grpc, management));
                }
            }
        }

        // Both pipes are drained for the process's whole life, so the child never blocks on a full pipe.
        _ = PumpAsync(process.StandardOutput, OnLine);
        _ = PumpAsync(process.StandardError, line =>
        {
            if (line is not null)
            {
                lock (log)
                {
                    log.AppendLine(line);
                }
            }
        });
        try
        {
            var (address, managementAddress) = await listening.Task.WaitAsync(StartTimeout);
            return new ServeProcess(process, log, address, managementAddress);
        }
        catch (Exception error)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw new Xunit.Sdk.XunitException($"healthgrpc serve did not start ({error.Message}):\n{log}");
        }
    }

    /// <summary>Runs `healthgrpc args...` to its end; returns its exit code and what it printed on stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TestData.Timeout * 2);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout.WaitAsync(TestData.Timeout), await stderr.WaitAsync(TestData.Timeout));
    }

    /// <summary>`healthgrpc user create ID --issue-token` on the database: the bearer token it printed.</summary>
    public static async Task<string> CreateUserWithTokenAsync(string connectionString, string userId)
    {
        var (exitCode, stdout, stderr) = await RunAsync("user", "create", userId, "--issue-token", "--provider", "postgres", "--connection-string", connectionString);
        Assert.True(exitCode == 0, $"healthgrpc user create exited {exitCode}: {stdout}{stderr}");
        return stdout.Trim();
    }

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    /// <summary>grpc.health.v1 Check of the whole server ("" service), bounded.</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> HealthAsync()
    {
        var response = await Health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync.WaitAsync(TestData.Timeout);
        return response.Status;
    }

    /// <summary>GET /readyz: its HTTP status code and body.</summary>
    public async Task<(int Status, string Body)> ReadyzAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var response = await http.GetAsync(new Uri(Management, "/readyz")).WaitAsync(TestData.Timeout);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync().WaitAsync(TestData.Timeout));
    }

    /// <summary>Polls grpc.health.v1 until it reports <paramref name="expected"/> (bounded: a probe runs every 0.2 s).</summary>
    public async Task WaitForHealthAsync(HealthCheckResponse.Types.ServingStatus expected)
    {
        var deadline = Stopwatch.StartNew();
        var last = HealthCheckResponse.Types.ServingStatus.Unknown;
        while (deadline.Elapsed < TestData.Timeout)
        {
            if ((last = await HealthAsync()) == expected)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException($"health stayed {last}, expected {expected} within {TestData.Timeout}:\n{Log}");
    }

    /// <summary>SIGKILL: the process dies at once, mid-whatever.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: false);
        if (!_process.WaitForExit(TestData.Timeout))
        {
            throw new Xunit.Sdk.XunitException("healthgrpc serve did not die after SIGKILL");
        }
    }

    public void Dispose()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TestData.Timeout);
        }

        _process.Dispose();
    }

    private static Process Start(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        return Process.Start(info) ?? throw new InvalidOperationException("could not start healthgrpc");
    }

    private static async Task PumpAsync(StreamReader reader, Action<string?> onLine)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            onLine(line);
        }

        onLine(null);
    }

    private static Uri? Match(Regex pattern, string line) => pattern.Match(line) is { Success: true } match ? new Uri(match.Groups[1].Value) : null;

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"Management endpoint .* on (http://\S+)")]
    private static partial Regex ManagementLine();
}
