using HealthGrpc.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>SQLite per-user source priority (ISourcePriorityStore, schema version 16): stored per user, kept across a reopen, reset by an empty order.</summary>
public sealed class SourcePriorityStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public async Task An_order_is_kept_per_user_across_a_reopen_and_an_empty_one_resets_it()
    {
        var path = _directory.File("priority.db");
        var (alice, bob) = (NewUser(), NewUser());
        await using (var store = await SqliteHealthStore.OpenAsync(path).T30())
        {
            await store.CreateUserAsync(alice, CancellationToken.None).T30();
            await store.CreateUserAsync(bob, CancellationToken.None).T30();
            Assert.Equal([], await store.GetSourcePriorityAsync(alice, CancellationToken.None).T30());
            Assert.True(await store.SetSourcePriorityAsync(alice, [2, 7, 1], CancellationToken.None).T30());
            Assert.True(await store.SetSourcePriorityAsync(bob, [4], CancellationToken.None).T30());
        }

        await using (var store = await SqliteHealthStore.OpenAsync(path).T30())
        {
            Assert.Equal([2, 7, 1], await store.GetSourcePriorityAsync(alice, CancellationToken.None).T30());
            Assert.Equal([4], await store.GetSourcePriorityAsync(bob, CancellationToken.None).T30());
            Assert.True(await store.SetSourcePriorityAsync(alice, [], CancellationToken.None).T30());
            Assert.Equal([], await store.GetSourcePriorityAsync(alice, CancellationToken.None).T30());
            Assert.Equal([4], await store.GetSourcePriorityAsync(bob, CancellationToken.None).T30());
        }
    }

    [Fact]
    public async Task An_unknown_user_has_no_order_and_gets_none_stored()
    {
        await using var store = await SqliteHealthStore.OpenAsync(_directory.File("unknown.db")).T30();
        var nobody = NewUser();

        Assert.False(await store.SetSourcePriorityAsync(nobody, [1], CancellationToken.None).T30());
        Assert.Null(await store.GetSourcePriorityAsync(nobody, CancellationToken.None).T30());
    }
}
