using System.Diagnostics;
using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>What the latest probe found: reachable and writable (a primary), or why not.</summary>
/// <param name="Healthy">The database answered within the timeout and is not a read-only standby.</param>
/// <param name="Description">What was found ("reachable", or the failure).</param>
/// <param name="At">When the probe finished.</param>
public sealed record PgProbeResult(bool Healthy, string Description, DateTimeOffset At);

/// <summary>
/// Whether this instance's PostgreSQL is reachable, probed in the background every <see cref="PgHealthProbeOptions.Interval"/>
/// on a connection of its own (outside the store's pool, so an exhausted pool reads as busy, not as down, and a
/// probe never waits behind callers), each probe bounded by <see cref="PgHealthProbeOptions.Timeout"/>. Health checks
/// read <see cref="Latest"/>: however often load balancers ask, the database sees one cheap statement per interval.
/// </summary>
public sealed class PgHealthProbe : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PgHealthProbeOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstProbe = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;
    private NpgsqlConnection? _connection;
    private volatile PgProbeResult _latest = new(false, "not probed yet", DateTimeOffset.UtcNow);

    public PgHealthProbe(string connectionString, PgHealthProbeOptions? options = null)
    {
        _options = options ?? new PgHealthProbeOptions();
        var timeoutSeconds = Math.Max(1, (int)Math.Ceiling(_options.Timeout.TotalSeconds));
        // One unpooled connection, kept open between probes (a dead server shows on the next statement), reopened after a failure.
        var builder = PgConnectionString.Parse(connectionString);
        builder.Pooling = false;
        builder.Timeout = timeoutSeconds;
        builder.CommandTimeout = timeoutSeconds;
        builder.ApplicationName = "healthgrpc-health-probe";
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The latest probe's result.</summary>
    public PgProbeResult Latest => _latest;

    /// <summary>The latest result once the first probe finished (a health check asked right at start-up waits for it).</summary>
    public async Task<PgProbeResult> CurrentAsync(CancellationToken ct)
    {
        await _firstProbe.Task.WaitAsync(ct).ConfigureAwait(false);
        return _latest;
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_options.Interval);
        do
        {
            _latest = await ProbeAsync().ConfigureAwait(false);
            _firstProbe.TrySetResult();
        }
        while (await WaitAsync(timer).ConfigureAwait(false));
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<PgProbeResult> ProbeAsync()
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            _connection ??= await _dataSource.OpenConnectionAsync(timeout.Token).ConfigureAwait(false);
            await using var command = Command(_connection, "SELECT pg_is_in_recovery()");
            var inRecovery = (bool)(await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false))!;
            return inRecovery
                ? await FailedAsync("PostgreSQL is a read-only standby (in recovery): commits would fail").ConfigureAwait(false)
                : new PgProbeResult(true, $"reachable ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)", DateTimeOffset.UtcNow);
        }
        catch (Exception error) when (error is OperationCanceledException && !_stop.IsCancellationRequested)
        {
            return await FailedAsync($"PostgreSQL did not answer within {_options.Timeout.TotalSeconds:0.#} s").ConfigureAwait(false);
        }
        catch (Exception error) when (PgErrors.IsUnavailable(error) || error is PostgresException)
        {
            return await FailedAsync($"PostgreSQL is unreachable: {error.Message}").ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return new PgProbeResult(false, "the probe is stopped", DateTimeOffset.UtcNow);
        }
    }

    /// <summary>Drops the connection (the next probe reconnects) and reports why.</summary>
    private async Task<PgProbeResult> FailedAsync(string description)
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        return new PgProbeResult(false, description, DateTimeOffset.UtcNow);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        if (_connection is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
