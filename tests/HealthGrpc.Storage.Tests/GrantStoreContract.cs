using System.Security.Cryptography;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Sharing grants of a store (<see cref="IGrantStore"/>): to a user or by share-code hash, active until expiry or
/// revocation, revocation advancing the auth generation, and the audit log of reads. Every provider subclasses this
/// with a fresh, empty store per test.
/// </summary>
public abstract class GrantStoreContract : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);
    private IHealthStore _store = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    private IGrantStore Grants => Assert.IsAssignableFrom<IGrantStore>(_store);

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync().T30();
        foreach (var user in (string[])["alice", "bob", "carol"])
        {
            await _store.CreateUserAsync(user, None).T30();
        }
    }

    public virtual async Task DisposeAsync() => await _store.DisposeAsync();

    private static NewGrant ToUser(string id, string owner, string grantee, DateTimeOffset? expires = null, DateTimeOffset? created = null) =>
        new(id, owner, grantee, null, [5, 8], Now.AddDays(-30), Now, expires ?? Now.AddDays(7), created ?? Now);

    private static NewGrant ByCode(string id, string owner, byte[] hash) =>
        new(id, owner, null, hash, [40], null, null, Now.AddDays(1), Now);

    [Fact]
    public async Task CreateGrant_ToAUser_IsFoundWithEveryField_AndActive()
    {
        Assert.Equal(GrantCreation.Created, await Grants.CreateGrantAsync(ToUser("g1", "alice", "bob"), None).T30());

        var grant = (await Grants.FindGrantAsync("g1", None).T30())!;
        Assert.Equal(("g1", "alice", "bob"), (grant.GrantId, grant.OwnerUserId, grant.GranteeUserId));
        Assert.Equal([5, 8], grant.Types);
        Assert.Equal((Now.AddDays(-30), Now, Now.AddDays(7), Now, (DateTimeOffset?)null), (grant.DataStart!.Value, grant.DataEnd!.Value, grant.ExpiresAt, grant.CreatedAt, grant.RevokedAt));
        Assert.False(grant.IsShareCode);
        Assert.Equal(["g1"], (await Grants.FindActiveGrantsAsync("alice", "bob", Now, None).T30()).Select(g => g.GrantId));
        Assert.Empty(await Grants.FindActiveGrantsAsync("bob", "alice", Now, None).T30());
        Assert.Empty(await Grants.FindActiveGrantsAsync("alice", "bob", Now.AddDays(8), None).T30());
        Assert.Null(await Grants.FindGrantAsync("nope", None).T30());
    }

    [Fact]
    public async Task CreateGrant_ForAnUnknownOwnerOrGrantee_StoresNothing()
    {
        Assert.Equal(GrantCreation.UnknownOwner, await Grants.CreateGrantAsync(ToUser("g1", "nobody", "bob"), None).T30());
        Assert.Equal(GrantCreation.UnknownGrantee, await Grants.CreateGrantAsync(ToUser("g2", "alice", "nobody"), None).T30());

        Assert.Empty(await Grants.ListGrantsAsync(null, GrantSide.Either, includeInactive: true, Now, None).T30());
    }

    [Fact]
    public async Task ShareCodeGrant_IsFoundByItsHashOnly()
    {
        var hash = SHA256.HashData("the share code"u8);
        Assert.Equal(GrantCreation.Created, await Grants.CreateGrantAsync(ByCode("s1", "alice", hash), None).T30());

        var grant = (await Grants.FindShareCodeGrantAsync(hash, None).T30())!;
        Assert.Equal(("s1", "alice", (string?)null, true), (grant.GrantId, grant.OwnerUserId, grant.GranteeUserId, grant.IsShareCode));
        Assert.Equal(((DateTimeOffset?)null, (DateTimeOffset?)null), (grant.DataStart, grant.DataEnd));
        Assert.Null(await Grants.FindShareCodeGrantAsync(SHA256.HashData("another code"u8), None).T30());
        await Assert.ThrowsAsync<ArgumentException>(() => Grants.CreateGrantAsync(ByCode("s2", "alice", hash) with { GranteeUserId = "bob" }, None)).T30();
    }

    [Fact]
    public async Task ListGrants_BySide_NewestFirst_ActiveUnlessAskedForAll()
    {
        await Grants.CreateGrantAsync(ToUser("old", "alice", "bob", created: Now.AddHours(-2)), None).T30();
        await Grants.CreateGrantAsync(ToUser("new", "alice", "carol", created: Now.AddHours(-1)), None).T30();
        await Grants.CreateGrantAsync(ToUser("back", "bob", "alice", created: Now), None).T30();
        await Grants.CreateGrantAsync(ToUser("expired", "carol", "bob", expires: Now.AddSeconds(-1), created: Now.AddDays(-3)), None).T30();

        async Task<string[]> List(string? user, GrantSide side, bool all = false) =>
            [.. (await Grants.ListGrantsAsync(user, side, all, Now, None).T30()).Select(g => g.GrantId)];

        Assert.Equal(["new", "old"], await List("alice", GrantSide.Owner));
        Assert.Equal(["back"], await List("alice", GrantSide.Grantee));
        Assert.Equal(["back", "new", "old"], await List("alice", GrantSide.Either));
        Assert.Equal(["back", "old"], await List("bob", GrantSide.Either));
        Assert.Equal(["back", "old", "expired"], await List("bob", GrantSide.Either, all: true));
        Assert.Equal(["back", "new", "old", "expired"], await List(null, GrantSide.Either, all: true));
    }

    [Fact]
    public async Task RevokeGrant_AdvancesTheGeneration_OnlyForItsOwner_Once()
    {
        await Grants.CreateGrantAsync(ToUser("g1", "alice", "bob"), None).T30();
        var before = await _store.GetAuthGenerationAsync(None).T30();

        Assert.Equal(GrantRevocation.NotFound, await Grants.RevokeGrantAsync("g1", "bob", Now, None).T30());
        Assert.Equal(before, await _store.GetAuthGenerationAsync(None).T30());
        Assert.Equal(GrantRevocation.Revoked, await Grants.RevokeGrantAsync("g1", "alice", Now, None).T30());

        Assert.True(await _store.GetAuthGenerationAsync(None).T30() > before);
        Assert.Equal(Now, (await Grants.FindGrantAsync("g1", None).T30())!.RevokedAt);
        Assert.Empty(await Grants.FindActiveGrantsAsync("alice", "bob", Now, None).T30());
        Assert.Equal(GrantRevocation.AlreadyRevoked, await Grants.RevokeGrantAsync("g1", null, Now, None).T30());
        Assert.Equal(GrantRevocation.NotFound, await Grants.RevokeGrantAsync("nope", null, Now, None).T30());
    }

    [Fact]
    public async Task RecordAccess_OneEntryPerGrant_ListedNewestFirst_ByOwner_Grant_AndPage()
    {
        await Grants.CreateGrantAsync(ToUser("g1", "alice", "bob"), None).T30();
        await Grants.CreateGrantAsync(ToUser("g2", "alice", "bob"), None).T30();
        await Grants.CreateGrantAsync(ByCode("s1", "carol", SHA256.HashData("code"u8)), None).T30();
        await Grants.RecordAccessAsync(new GrantAccess(["g1", "g2"], "bob", "ReadSamples", [5], Now.AddDays(-1), Now, Now), None).T30();
        await Grants.RecordAccessAsync(new GrantAccess(["g1"], "bob", "ReadRollups", [5, 8], null, null, Now.AddMinutes(1)), None).T30();
        await Grants.RecordAccessAsync(new GrantAccess(["s1"], null, "ReadSamples", [40], null, null, Now), None).T30();

        var all = await Grants.ListAccessAsync("alice", null, null, 10, None).T30();

        Assert.Equal([("g1", "ReadRollups"), ("g2", "ReadSamples"), ("g1", "ReadSamples")], all.Select(a => (a.GrantId, a.Method)));
        Assert.True(all[0].Id > all[1].Id && all[1].Id > all[2].Id);
        var newest = all[0];
        Assert.Equal(("alice", "bob", Now.AddMinutes(1)), (newest.OwnerUserId, newest.ReaderUserId, newest.At));
        Assert.Equal([5, 8], newest.Types);
        Assert.Equal((Now.AddDays(-1), Now), (all[2].DataStart!.Value, all[2].DataEnd!.Value));
        Assert.Equal(["ReadSamples", "ReadSamples"], (await Grants.ListAccessAsync("alice", null, all[0].Id, 10, None).T30()).Select(a => a.Method));
        Assert.Equal([all[2].Id], (await Grants.ListAccessAsync("alice", "g1", all[0].Id, 10, None).T30()).Select(a => a.Id));
        Assert.Single(await Grants.ListAccessAsync("alice", null, null, 1, None).T30());
        var anonymous = Assert.Single(await Grants.ListAccessAsync("carol", null, null, 10, None).T30());
        Assert.Equal(("s1", (string?)null), (anonymous.GrantId, anonymous.ReaderUserId));
        Assert.Empty(await Grants.ListAccessAsync("bob", null, null, 10, None).T30());
    }
}
