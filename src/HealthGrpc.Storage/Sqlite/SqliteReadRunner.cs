using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// Runs a query on a pooled read-only connection off the caller's thread. Microsoft.Data.Sqlite does no asynchronous
/// I/O (its *Async methods run synchronously on the calling thread), so a read awaited on the request path would hold
/// a request thread for its whole duration. Each read therefore runs as one thread-pool work item (connection open,
/// read snapshot, rows, mapping), and at most <c>maxConcurrentReads</c> run at once: the gate is awaited
/// asynchronously, so a burst of range reads queues without holding threads and cannot take every pool thread that
/// Kestrel and the commit completions need. Chosen over dedicated reader threads because the connection pool already
/// keeps the opened connections and the pool's threads are reused across all read kinds.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "The gate is never disposed: see _gate.")]
internal sealed class SqliteReadRunner(Func<SqliteConnection> open, int maxConcurrentReads)
{
    // Never disposed: a read still finishing while the store closes must be able to release it (no wait handle is
    // ever allocated, so there is nothing to free).
    private readonly SemaphoreSlim _gate = new(Math.Max(1, maxConcurrentReads));

    public async Task<T> RunAsync<T>(Func<SqliteConnection, T> read, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(
                () =>
                {
                    ct.ThrowIfCancellationRequested();
                    using var connection = open();
                    return read(connection);
                },
                ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
