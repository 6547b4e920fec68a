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
}
