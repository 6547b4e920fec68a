using HealthGrpc.Client.Tests.Infrastructure;

namespace HealthGrpc.Client.Tests;

/// <summary>The queue, epoch and anchors belong to one account: another account's credentials never upload them.</summary>
public sealed class AccountTests
{
    private const string OtherUser = "user-2";

    [Fact]
    public async Task AnotherAccountsToken_IsRefused_AndTheQueueIsDeliveredOnlyToItsOwnAccount()
    {
        await using var server = await TestServer.StartAsync();
        var otherToken = await server.AddTokenAsync(OtherUser);
        var options = WithAccount(TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), server.Token), server.UserId);
        var (client, _) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.EnqueueAsync([TestClient.HeartRate(100)]).WaitAsync(TestClient.Timeout);
            var refused = Assert.Throws<AccountMismatchException>(() => client.UpdateToken(otherToken, OtherUser));
            Assert.Equal(server.UserId, refused.StoreAccountId);
            Assert.Equal(OtherUser, refused.RequestedAccountId);

            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(100, await server.CountSamplesAsync());
            Assert.Equal(0, await CountAsync(server, OtherUser));
        }
    }

    [Fact]
    public async Task ProviderSwitchedToAnotherAccount_PausesTheEngine_NothingIsUploadedAsThatAccount()
    {
        await using var server = await TestServer.StartAsync();
        var credentials = new SwitchableCredentials(server.Token, server.UserId);
        var o = TestClient.Options(server.Address, Path.Combine(server.Directory, "client.db"), null);
        var options = new HealthSyncOptions
        {
            ServerAddress = o.ServerAddress,
            DatabasePath = o.DatabasePath,
            AccountId = server.UserId,
            CredentialsProvider = credentials,
            AckTimeout = o.AckTimeout,
            RetryBaseDelay = o.RetryBaseDelay,
            RetryMaxDelay = o.RetryMaxDelay,
            IdleTimeout = o.IdleTimeout,
            CredentialsRetryInterval = TimeSpan.FromSeconds(30),
        };
        var (client, events) = await TestClient.OpenAsync(options);
        await using (client)
        {
            await client.EnqueueAsync([TestClient.HeartRate(10)]).WaitAsync(TestClient.Timeout);
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);

            // The app (in the background, engine stopped) signed another user in through the same provider, without
            // signing the first one out; the first account's data is still queued when the engine starts again.
            await client.StopAsync().WaitAsync(TestClient.Timeout);
            await client.EnqueueAsync([TestClient.HeartRate(50)]).WaitAsync(TestClient.Timeout);
            credentials.Set(await server.AddTokenAsync(OtherUser), OtherUser);
            client.NotifyCredentialsChanged();
            client.Start();
            await events.WaitForAsync(e => e.Kind == SyncEventKind.Paused, TestClient.Timeout);
            Assert.Equal(SyncState.PausedAccountMismatch, client.State);
            Assert.Equal(0, await CountAsync(server, OtherUser));
            Assert.Equal(50, (await client.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingSamples);

            credentials.Set(server.Token, server.UserId);
            client.NotifyCredentialsChanged();
            await client.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
            Assert.Equal(60, await server.CountSamplesAsync());
            Assert.Equal(0, await CountAsync(server, OtherUser));
        }
    }

    [Fact]
    public async Task SignOut_KeepsOrErasesTheLocalData_AndAStoreBoundToOneAccountRefusesAnother()
    {
        await using var server = await TestServer.StartAsync();
        var otherToken = await server.AddTokenAsync(OtherUser);
        var path = HealthSyncClient.DatabasePathForAccount(server.Directory, server.UserId);
        Assert.NotEqual(path, HealthSyncClient.DatabasePathForAccount(server.Directory, OtherUser));
        Assert.DoesNotContain(server.UserId, Path.GetFileName(path), StringComparison.Ordinal);

        var (first, _) = await TestClient.OpenAsync(WithAccount(TestClient.Options(server.Address, path, server.Token), server.UserId));
        await first.EnqueueAsync([TestClient.HeartRate(30)]).WaitAsync(TestClient.Timeout);
        await first.SignOutAsync(SignOutMode.KeepLocalData).WaitAsync(TestClient.Timeout);
        await first.DisposeAsync(); // idempotent after a sign-out

        // The other account cannot open this store (not even without naming an account), and nothing was uploaded.
        var refused = await Assert.ThrowsAsync<AccountMismatchException>(() =>
            HealthSyncClient.OpenAsync(WithAccount(TestClient.Options(server.Address, path, otherToken), OtherUser)).WaitAsync(TestClient.Timeout));
        Assert.Equal(server.UserId, refused.StoreAccountId);
        await Assert.ThrowsAsync<AccountMismatchException>(() => HealthSyncClient.OpenAsync(TestClient.Options(server.Address, path, otherToken)).WaitAsync(TestClient.Timeout));

        // Its own store: the other account syncs independently.
        var otherPath = HealthSyncClient.DatabasePathForAccount(server.Directory, OtherUser);
        await using (var other = await HealthSyncClient.OpenAsync(WithAccount(TestClient.Options(server.Address, otherPath, otherToken), OtherUser)).WaitAsync(TestClient.Timeout))
        {
            await other.EnqueueAsync([TestClient.HeartRate(7)]).WaitAsync(TestClient.Timeout);
            await other.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
        }

        Assert.Equal(0, await server.CountSamplesAsync());
        Assert.Equal(7, await CountAsync(server, OtherUser));

        // The first account signs in again: its kept queue is delivered to it, then it signs out erasing everything.
        var (again, _) = await TestClient.OpenAsync(WithAccount(TestClient.Options(server.Address, path, server.Token), server.UserId));
        Assert.Equal(30, (await again.GetStatusAsync().WaitAsync(TestClient.Timeout)).PendingSamples);
        await again.WaitUntilDrainedAsync().WaitAsync(TestClient.Timeout);
        Assert.Equal(30, await server.CountSamplesAsync());
        await again.SignOutAsync(SignOutMode.EraseLocalData).WaitAsync(TestClient.Timeout);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + "-wal"));
        Assert.Equal(7, await CountAsync(server, OtherUser));
    }

    private static Task<long> CountAsync(TestServer server, string user) =>
        server.Store.CountSamplesAsync(user, CancellationToken.None).WaitAsync(TestClient.Timeout);

    private static HealthSyncOptions WithAccount(HealthSyncOptions o, string account) => new()
    {
        ServerAddress = o.ServerAddress,
        DatabasePath = o.DatabasePath,
        AccessToken = o.AccessToken,
        AccountId = account,
        MaxSamplesPerBatch = o.MaxSamplesPerBatch,
        AckTimeout = o.AckTimeout,
        RetryBaseDelay = o.RetryBaseDelay,
        RetryMaxDelay = o.RetryMaxDelay,
        IdleTimeout = o.IdleTimeout,
        CredentialsRetryInterval = o.CredentialsRetryInterval,
    };

    private sealed class SwitchableCredentials(string token, string account) : IAccountCredentialsProvider
    {
        private volatile Tuple<string, string> _current = Tuple.Create(token, account);

        public string? AccountId => _current.Item2;

        public void Set(string newToken, string newAccount) => _current = Tuple.Create(newToken, newAccount);

        public ValueTask<string?> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken) => ValueTask.FromResult<string?>(_current.Item1);
    }
}
