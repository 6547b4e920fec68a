using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Tests;

/// <summary>The account contract on a real SQLite file.</summary>
public sealed class AccountStoreTests : AccountStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override async Task<IHealthStore> CreateStoreAsync() => await SqliteHealthStore.OpenAsync(_directory.File("accounts.db"));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Account_reads_are_asynchronous_a_cancelled_call_returns_a_cancelled_task_instead_of_reading_on_the_callers_thread()
    {
        await using var store = await CreateStoreAsync().WaitAsync(TimeSpan.FromSeconds(30));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        // Each call returns (it does not throw, nor open SQLite, on this thread); the work it queued observes the token.
        Task[] reads =
        [
            store.FindUserAsync("alice", cancelled.Token),
            store.ListUsersAsync(cancelled.Token),
            store.ListTokensAsync(null, cancelled.Token),
            store.FindCredentialAsync(new byte[32], cancelled.Token),
            store.GetAuthGenerationAsync(cancelled.Token),
        ];
        foreach (var read in reads)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        }
    }
}
