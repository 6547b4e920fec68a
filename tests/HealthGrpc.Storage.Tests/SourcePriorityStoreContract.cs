using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Per-user source priority (<see cref="ISourcePriorityStore"/>): stored per user, kept across a reopen, reset by an
/// empty order, nothing stored for an unknown user. Every provider subclasses this with a fresh, empty store per test.
/// </summary>
public abstract class SourcePriorityStoreContract : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private IHealthStore _store = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    /// <summary>Disposes <paramref name="store"/> and opens the same database again.</summary>
    protected abstract Task<IHealthStore> ReopenAsync(IHealthStore store);

    private ISourcePriorityStore Priorities => Assert.IsAssignableFrom<ISourcePriorityStore>(_store);

    public async Task InitializeAsync() => _store = await CreateStoreAsync().T30();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task An_order_is_kept_per_user_across_a_reopen_and_an_empty_one_resets_it()
    {
        var (alice, bob) = (NewUser(), NewUser());
        await _store.CreateUserAsync(alice, None).T30();
        await _store.CreateUserAsync(bob, None).T30();
        Assert.Equal([], await Priorities.GetSourcePriorityAsync(alice, None).T30());
        Assert.True(await Priorities.SetSourcePriorityAsync(alice, [2, 7, 1], None).T30());
        Assert.True(await Priorities.SetSourcePriorityAsync(bob, [4], None).T30());

        _store = await ReopenAsync(_store).T30();

        Assert.Equal([2, 7, 1], await Priorities.GetSourcePriorityAsync(alice, None).T30());
        Assert.Equal([4], await Priorities.GetSourcePriorityAsync(bob, None).T30());
        Assert.True(await Priorities.SetSourcePriorityAsync(alice, [], None).T30());
        Assert.Equal([], await Priorities.GetSourcePriorityAsync(alice, None).T30());
        Assert.Equal([4], await Priorities.GetSourcePriorityAsync(bob, None).T30());
    }

    [Fact]
    public async Task An_unknown_user_has_no_order_and_gets_none_stored()
    {
        var nobody = NewUser();

        Assert.False(await Priorities.SetSourcePriorityAsync(nobody, [1], None).T30());
        Assert.Null(await Priorities.GetSourcePriorityAsync(nobody, None).T30());
    }
}
