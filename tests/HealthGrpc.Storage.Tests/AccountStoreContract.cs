using System.Security.Cryptography;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Users and tokens of a store: expiry, revocation, disabling, and the auth generation a server watches. Every provider
/// subclasses this with a fresh, empty store per test (the tests use fixed user names).
/// </summary>
public abstract class AccountStoreContract : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private IHealthStore _store = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    public async Task InitializeAsync() => _store = await CreateStoreAsync().T30();

    public virtual async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task IssueToken_UnknownUser_IssuesNothing()
    {
        Assert.Null(await _store.IssueTokenAsync("nobody", RandomNumberGenerator.GetBytes(32), null, None).T30());
        Assert.Empty(await _store.ListTokensAsync(null, None).T30());
    }

    [Fact]
    public async Task RevokeToken_AdvancesTheGeneration_AndTheCredentialSaysRevoked()
    {
        await _store.CreateUserAsync("alice", None).T30();
        var hash = RandomNumberGenerator.GetBytes(32);
        var issued = await _store.IssueTokenAsync("alice", hash, null, None).T30();
        Assert.Equal(Convert.ToHexStringLower(hash)[..12], issued!.Id);
        var before = await _store.GetAuthGenerationAsync(None).T30();

        Assert.Equal(TokenRevocation.Revoked, await _store.RevokeTokenAsync(issued.Id.ToUpperInvariant(), None).T30());

        Assert.True(await _store.GetAuthGenerationAsync(None).T30() > before);
        Assert.Equal(CredentialState.Revoked, (await _store.FindCredentialAsync(hash, None).T30())!.Check(DateTimeOffset.UtcNow));
        Assert.Null(await _store.FindUserByTokenHashAsync(hash, None).T30());
        Assert.Equal(TokenRevocation.AlreadyRevoked, await _store.RevokeTokenAsync(issued.Id, None).T30());
        Assert.Equal(TokenRevocation.NotFound, await _store.RevokeTokenAsync("ffffffffffff", None).T30());
    }

    [Fact]
    public async Task DisableUser_AdvancesTheGeneration_AndStopsEveryTokenOfTheUserOnly()
    {
        var alice = RandomNumberGenerator.GetBytes(32);
        var bob = RandomNumberGenerator.GetBytes(32);
        await _store.AddTokenAsync("alice", alice, None).T30();
        await _store.AddTokenAsync("bob", bob, None).T30();
        var before = await _store.GetAuthGenerationAsync(None).T30();

        Assert.True(await _store.DisableUserAsync("alice", None).T30());

        Assert.True(await _store.GetAuthGenerationAsync(None).T30() > before);
        Assert.Equal(CredentialState.UserDisabled, (await _store.FindCredentialAsync(alice, None).T30())!.Check(DateTimeOffset.UtcNow));
        Assert.Equal("bob", await _store.FindUserByTokenHashAsync(bob, None).T30());
        Assert.False(await _store.DisableUserAsync("nobody", None).T30());
        var users = await _store.ListUsersAsync(None).T30();
        // Disabling keeps the tokens (they authenticate again if the user were re-enabled); they stop working meanwhile.
        Assert.Equal([("alice", true, 1), ("bob", false, 1)], users.Select(u => (u.UserId, u.DisabledAt is not null, u.ActiveTokens)));
    }

    [Fact]
    public async Task ExpiredToken_IsKnownButExpired_AndNotCountedActive()
    {
        await _store.CreateUserAsync("alice", None).T30();
        var hash = RandomNumberGenerator.GetBytes(32);
        var expiry = DateTimeOffset.UtcNow.AddHours(1);
        await _store.IssueTokenAsync("alice", hash, expiry, None).T30();

        var credential = (await _store.FindCredentialAsync(hash, None).T30())!;

        var stored = credential.ExpiresAt!.Value;
        Assert.Equal(expiry.ToUnixTimeMilliseconds(), stored.ToUnixTimeMilliseconds());
        Assert.Equal(CredentialState.Valid, credential.Check(stored.AddTicks(-1)));
        Assert.Equal(CredentialState.Expired, credential.Check(stored));
        Assert.Equal(1, (await _store.FindUserAsync("alice", None).T30())!.ActiveTokens);
    }
}
