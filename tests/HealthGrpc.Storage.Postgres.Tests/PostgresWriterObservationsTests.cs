using System.Collections.Concurrent;
using System.Diagnostics;
using HealthGrpc.Storage.Tests;
using Npgsql;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>
/// The PostgreSQL writer's observations (<see cref="IWriterObservations"/>): each group transaction reported once it
/// ended, rolled back or committed, with its items and rows; the queue depth counts the items waiting for the writer.
/// </summary>
public sealed class PostgresWriterObservationsTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Each_group_is_reported_after_it_rolled_back_or_committed_and_the_queue_depth_counts_what_waits()
    {
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        await using var store = await PostgresHealthStore.OpenAsync(connectionString, PostgresTestDatabase.Options).T30();
        var user = NewUser();
        await store.CreateUserAsync(user, None).T30();
        var observed = new ConcurrentQueue<GroupCommitObservation>();
        var rolledBack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.GroupCommitted += observation =>
        {
            observed.Enqueue(observation);
            (observed.Count == 1 ? rolledBack : committed).TrySetResult();
        };

        // Another session holds the user's row: the writer's group waits for it inside its transaction, and what is
        // queued meanwhile waits for the writer.
        await using var blocker = new NpgsqlConnection(connectionString);
        await blocker.OpenAsync().T30();
        await using var holding = await blocker.BeginTransactionAsync().AsTask().T30();
        await using (var lockUser = new NpgsqlCommand("SELECT 1 FROM users WHERE user_id = @u FOR UPDATE", blocker, holding))
        {
            lockUser.Parameters.AddWithValue("u", user);
            await lockUser.ExecuteNonQueryAsync().T30();
        }

        var failing = store.CommitAsync(Batch(user, "a", 1, Samples(3)), None);
        var writerBackend = await UntilAsync("the writer waits for the user's row", () => BlockedBackendAsync(blocker));
        var queued = new[] { store.CommitAsync(Batch(user, "b", 1, Samples(5)), None), store.CommitAsync(Batch(user, "c", 1, Samples(7)), None) };
        await UntilAsync("both batches are queued", () => Task.FromResult<int?>(store.QueuedWrites == 2 ? 2 : null));
        Assert.Empty(observed);

        // The writer's connection dies mid-group: its transaction is rolled back and still reported.
        await using (var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", blocker, holding))
        {
            terminate.Parameters.AddWithValue("pid", writerBackend);
            await terminate.ExecuteNonQueryAsync().T30();
        }

        await Assert.ThrowsAsync<HealthStoreUnavailableException>(() => failing.T30());
        await rolledBack.Task.T30();
        await holding.RollbackAsync().T30();
        Assert.All(await Task.WhenAll(queued).T30(), outcome => Assert.Equal(0, outcome.Committed().Rejected));
        await committed.Task.T30();

        // A commit's rows are its items plus its batch row; the two queued batches went into one group.
        Assert.Equal([(1, 3 + 1), (2, 5 + 1 + 7 + 1)], observed.Select(o => (o.Items, o.Rows)));
        Assert.All(observed, o => Assert.True(o.Duration > TimeSpan.Zero));
        Assert.Equal(0, store.QueuedWrites);
    }

    private static List<SampleRecord> Samples(int count) =>
        Enumerable.Range(0, count).Select(i => Sample(start: 1_700_000_000_000 + i * 1000L)).ToList();

    /// <summary>The backend waiting for a lock <paramref name="blocker"/> holds, if one does yet.</summary>
    private static async Task<int?> BlockedBackendAsync(NpgsqlConnection blocker)
    {
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid))", blocker);
        return await command.ExecuteScalarAsync().T30() as int?;
    }

    /// <summary>Polls <paramref name="probe"/> until it answers (bounded by the test timeout): the database gives no signal for these.</summary>
    private static async Task<int> UntilAsync(string what, Func<Task<int?>> probe)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TestData.Timeout)
        {
            if (await probe() is { } answer)
            {
                return answer;
            }

            await Task.Delay(20);
        }

        throw new Xunit.Sdk.XunitException($"timed out waiting until {what}");
    }
}
