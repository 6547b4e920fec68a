using System.Diagnostics;
using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage.Postgres.Tests.Faults;
using HealthGrpc.Storage.Tests;
using Npgsql;

namespace HealthGrpc.Storage.Postgres.Tests;

/// <summary>
/// A real `healthgrpc serve` whose pool (Maximum Pool Size 3: the writer, the change listener and ONE more) is held
/// busy: calls answer UNAVAILABLE naming the pool within the connection timeout, never hang, and work again once
/// connections are free. On the shared cluster: it stops nothing, and its lock is on a schema of its own.
/// </summary>
public sealed class PoolExhaustionTests
{
    [Fact]
    public async Task AllPooledConnectionsBusy_CallsAnswerUnavailableNamingThePool_WithinBoundedTime_ThenRecover()
    {
        const string User = "dave";
        var connectionString = await PostgresTestDatabase.NewSchemaAsync().T30();
        var auth = ServeProcess.Bearer(await ServeProcess.CreateUserWithTokenAsync(connectionString, User));
        using var server = await ServeProcess.StartAsync(
            connectionString + ";Maximum Pool Size=3", "--Storage:CommandTimeout", "00:00:04");
        var device = new TestDevice("scale-1", 2, 5);
        await device.UploadAsync(server.Sync, auth, 1); // the writer and the listener now hold their connections

        // Every call authenticates by reading the auth generation: with that table locked, the one free pooled
        // connection blocks on the lock and every other call waits for a connection.
        await using var locker = new NpgsqlConnection(connectionString);
        await locker.OpenAsync().WaitAsync(TestData.Timeout);
        await using var transaction = await locker.BeginTransactionAsync().AsTask().WaitAsync(TestData.Timeout);
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE auth_generation IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync().WaitAsync(TestData.Timeout);
        }

        var elapsed = Stopwatch.StartNew();
        var calls = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            var call = server.Sync.GetCheckpointAsync(new GetCheckpointRequest { DeviceId = "scale-1" }, auth, DateTime.UtcNow.AddSeconds(30));
            return await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WaitAsync(TestData.Timeout));
        })).ToList();
        var failures = await Task.WhenAll(calls).WaitAsync(TestData.Timeout);
        elapsed.Stop();

        Assert.All(failures, failure => Assert.Contains(failure.StatusCode, new[] { StatusCode.Unavailable, StatusCode.ResourceExhausted }));
        Assert.Contains(failures, failure => failure.Status.Detail.Contains("connection pool has been exhausted", StringComparison.Ordinal));
        // Bounded by the connection timeout (5 s, the default) and the command timeout (4 s) of the call holding the connection,
        // not by the calls' 30 s deadline.
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(20), $"the calls took {elapsed.Elapsed}");

        await transaction.RollbackAsync().WaitAsync(TestData.Timeout);
        Assert.Equal(AckOutcome.Committed, (await device.UploadAsync(server.Sync, auth, 2)).Outcome);
    }
}
