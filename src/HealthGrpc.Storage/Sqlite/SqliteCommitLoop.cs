using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// The group commit: a bounded queue of work items and ONE dedicated thread owning the <see cref="SqliteWriter"/>.
/// The thread takes everything queued (up to <see cref="GroupCommitOptions.MaxRows"/> items), waits up to
/// <see cref="GroupCommitOptions.MaxDelay"/> for more, runs the group in one transaction and commits once; the items'
/// tasks complete (never inline on this thread) only after COMMIT returned.
/// </summary>
internal sealed class SqliteCommitLoop
{
    private readonly string _path;
    private readonly SqliteStoreOptions _options;
    private readonly Channel<WorkItem> _queue;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action _committed;
    private SqliteWriter? _writer;

    // committed: runs on the commit thread after each durable COMMIT, before the group's items complete.
    public SqliteCommitLoop(string path, SqliteStoreOptions options, SqliteWriter writer, Action committed)
    {
        (_path, _options, _writer, _committed) = (path, options, writer, committed);
        _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(Math.Max(1, options.GroupCommit.QueueCapacity))
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _thread = new Thread(Run) { IsBackground = true, Name = "HealthGrpc.Storage.SqliteWriter" };
        _thread.Start();
    }

    /// <summary>Completes when the loop ended: after a drain (<see cref="StopAsync"/>), or faulted when the writer died.</summary>
    public Task Done => _done.Task;

    /// <summary>Work items queued and not yet taken into a group (<see cref="IWriterObservations.QueuedWrites"/>).</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>Raised on the commit thread after each group transaction ended (<see cref="IWriterObservations.GroupCommitted"/>).</summary>
    public event Action<GroupCommitObservation>? GroupCommitted;

    public async Task<T> EnqueueAsync<T>(WorkItem<T> item, CancellationToken ct)
    {
        try
        {
            await _queue.Writer.WriteAsync(item, ct).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(SqliteHealthStore));
        }

        return await item.Task.ConfigureAwait(false);
    }

    /// <summary>Stops accepting work, commits everything already queued, then closes the writer.</summary>
    public async Task StopAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _done.Task.ConfigureAwait(false);
        }
        finally
        {
            _thread.Join();
            _writer?.Dispose();
            _writer = null;
        }
    }

    private void Run()
    {
        var group = new List<WorkItem>();
        try
        {
            var reader = _queue.Reader;
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                Collect(reader, group);
                if (group.Count > 0)
                {
                    ExecuteObserved(group);
                    group.Clear();
                }
            }
        }
        catch (Exception error)
        {
            var failure = new HealthStoreUnavailableException("The store's writer stopped.", error);
            foreach (var item in group)
            {
                item.Fail(failure);
            }

            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var queued))
            {
                queued.Fail(failure);
            }

            _done.TrySetException(error);
            return;
        }

        _done.TrySetResult();
    }

    private void Collect(ChannelReader<WorkItem> reader, List<WorkItem> group)
    {
        var maxRows = Math.Max(1, _options.GroupCommit.MaxRows);
        var rows = 0;
        while (rows < maxRows && reader.TryRead(out var item))
        {
            group.Add(item);
            rows += item.Rows;
        }

        var maxDelay = _options.GroupCommit.MaxDelay;
        if (maxDelay <= TimeSpan.Zero || rows >= maxRows)
        {
            return;
        }

        var deadline = Environment.TickCount64 + (long)Math.Ceiling(maxDelay.TotalMilliseconds);
        while (rows < maxRows)
        {
            if (reader.TryRead(out var item))
            {
                group.Add(item);
                rows += item.Rows;
                continue;
            }

            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                return;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(remaining));
            try
            {
                if (!reader.WaitToReadAsync(timeout.Token).AsTask().GetAwaiter().GetResult())
                {
                    return; // completed: commit what we have, the outer loop then ends
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Runs one group transaction and reports its size and duration.</summary>
    private void ExecuteObserved(List<WorkItem> group)
    {
        var started = Stopwatch.GetTimestamp();
        ExecuteGroup(group);
        if (GroupCommitted is { } observers)
        {
            var rows = 0;
            foreach (var item in group)
            {
                rows += item.Rows;
            }

            observers(new GroupCommitObservation(group.Count, rows, Stopwatch.GetElapsedTime(started)));
        }
    }

    /// <summary>
    /// Runs every item of the group in ONE transaction and commits once. No savepoints on the happy path (a savepoint
    /// makes SQLite copy every page a batch first touches into a sub-journal, 10-20% of the insert cost): when
    /// an item's own logic throws, the transaction is rolled back, that item alone fails and the rest of the group is
    /// re-executed from scratch (results are recomputed, nothing was published yet). Storage-level failures
    /// (I/O, disk full, corruption, locking) and a failing COMMIT fail every item of the group: none is acked.
    /// </summary>
    private void ExecuteGroup(List<WorkItem> group)
    {
        var commitTime = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        SqliteWriter? writer = null;
        try
        {
            writer = _writer ??= new SqliteWriter(_path, _options);
            foreach (var item in group)
            {
                if (item.CancellationToken.IsCancellationRequested)
                {
                    item.Cancel();
                }
            }

            while (true)
            {
                writer.Begin();
                WorkItem? failed = null;
                Exception? failure = null;
                foreach (var item in group)
                {
                    if (item.Finished)
                    {
                        continue;
                    }

                    try
                    {
                        item.Execute(writer, commitTime);
                    }
                    catch (Exception error) when (!IsStorageFailure(error))
                    {
                        (failed, failure) = (item, error);
                        break;
                    }
                }

                if (failed is null)
                {
                    break;
                }

                writer.Rollback();
                failed.Fail(failure!);
            }

            writer.Commit();
        }
        catch (Exception error)
        {
            try
            {
                writer?.Rollback();
            }
            catch (Exception)
            {
                // The connection is unusable: reopen it for the next group.
                writer?.Dispose();
                _writer = null;
            }

            var failure = new HealthStoreUnavailableException("The commit failed; nothing of the batch was stored.", error);
            foreach (var item in group)
            {
                item.Fail(failure);
            }

            return;
        }

        // Durable now: wake the live subscriptions before the callers are completed (and ack).
        _committed();
        foreach (var item in group)
        {
            item.Complete();
        }
    }

    /// <summary>Errors of the database itself (not of one batch's content): they fail the whole group.</summary>
    private static bool IsStorageFailure(Exception error)
        => error is OutOfMemoryException
           || (error is SqliteException sqlite && (sqlite.SqliteErrorCode & 0xFF) is
               5 /* BUSY */ or 6 /* LOCKED */ or 7 /* NOMEM */ or 8 /* READONLY */ or 10 /* IOERR */ or 11 /* CORRUPT */ or
               13 /* FULL */ or 14 /* CANTOPEN */ or 26 /* NOTADB */);
}
