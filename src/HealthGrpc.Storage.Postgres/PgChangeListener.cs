using Npgsql;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// LISTENs on <see cref="PgGroupWriter.Channel"/> on a connection of its own and republishes other instances' commits on
/// this instance's <see cref="ChangeNotifications"/> (this instance's own commits are published by its writer before
/// their callers complete, so notifications from its own writer's backend are skipped). After a lost connection it
/// reconnects and wakes every user once: commits made meanwhile were not heard (a spurious wake-up costs a read).
/// </summary>
internal sealed class PgChangeListener : IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly NpgsqlDataSource _dataSource;
    private readonly ChangeNotifications _notifications;
    private readonly Func<int> _ownWriterProcessId;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;

    public PgChangeListener(NpgsqlDataSource dataSource, ChangeNotifications notifications, Func<int> ownWriterProcessId)
    {
        (_dataSource, _notifications, _ownWriterProcessId) = (dataSource, notifications, ownWriterProcessId);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Completes once the first LISTEN is in place (commits after it are heard).</summary>
    public Task Listening => _listening.Task;

    private async Task RunAsync()
    {
        var heardBefore = false;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(_stop.Token).ConfigureAwait(false);
                connection.Notification += OnNotification;
                await using (var listen = Command(connection, $"LISTEN {PgGroupWriter.Channel}"))
                {
                    await listen.ExecuteNonQueryAsync(_stop.Token).ConfigureAwait(false);
                }

                _listening.TrySetResult();
                if (heardBefore)
                {
                    await WakeEveryUserAsync(connection, _stop.Token).ConfigureAwait(false);
                }

                heardBefore = true;
                while (true)
                {
                    await connection.WaitAsync(_stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (error is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                // The database went away: retry until it is back (the writer reports the outage to callers).
                try
                {
                    await Task.Delay(RetryDelay, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (e.PID == _ownWriterProcessId() || e.Payload.Length == 0)
        {
            return;
        }

        _notifications.Publish(e.Payload.Split('\n'));
    }

    private async Task WakeEveryUserAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var users = new List<string>();
        await using var command = Command(connection, "SELECT user_id FROM users");
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            users.Add(reader.GetString(0));
        }

        _notifications.Publish(users);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
