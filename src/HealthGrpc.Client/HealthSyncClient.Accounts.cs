using System.Security.Cryptography;
using System.Text;

namespace HealthGrpc.Client;

/// <summary>The account the local store belongs to: binding, token checks, sign-out.</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>The account this client's store belongs to (<see cref="HealthSyncOptions.AccountId"/>), or null when unbound.</summary>
    public string? AccountId { get; private init; }

    /// <summary>
    /// A path for the store of <paramref name="accountId"/> under <paramref name="directory"/> (the account id hashed, so
    /// it never appears in a file name): one store per account, so an account switch never mixes queues.
    /// </summary>
    public static string DatabasePathForAccount(string directory, string accountId)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(accountId)))[..32];
        return Path.Combine(directory, $"healthgrpc-{hash}.db");
    }

    /// <summary>
    /// Replaces the bearer token with one of <paramref name="accountId"/>, which must be the store's account: the queue,
    /// epoch and anchors belong to it. For another account, sign out (<see cref="SignOutAsync"/>) and open its own store.
    /// </summary>
    /// <exception cref="AccountMismatchException">The token is another account's (or the store is bound to none): the token was not used.</exception>
    public void UpdateToken(string token, string accountId)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        if (!string.Equals(accountId, AccountId, StringComparison.Ordinal))
        {
            throw Mismatch(accountId, "a token of another account was refused: the queued data would be uploaded as that account");
        }

        UpdateToken(token);
    }

    /// <summary>
    /// Signs out: stops the engine, forgets the token, and closes the store, keeping or erasing the local data as the app
    /// chooses. The client is closed afterwards (open a new one for the next account). Undelivered data kept with
    /// <see cref="SignOutMode.KeepLocalData"/> is delivered when this account opens its store again.
    /// </summary>
    public async Task SignOutAsync(SignOutMode mode, CancellationToken cancellationToken = default)
    {
        if (_credentials is StaticCredentialsProvider s)
        {
            s.Token = null;
        }

        _overrideToken = null;
        await StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var path = _store.Path;
        await DisposeAsync().ConfigureAwait(false);
        if (mode == SignOutMode.EraseLocalData)
        {
            // Off the caller's thread: deleting files is disk work too.
            await Task.Run(
                () =>
                {
                    foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
                    {
                        File.Delete(file);
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Binds a new store to the options' account, or refuses a store bound to another one.</summary>
    private static async Task<string?> BindAccountAsync(SyncStore store, string? accountId, CancellationToken ct)
    {
        var bound = await store.BindAccountAsync(accountId, ct).ConfigureAwait(false);
        if (!string.Equals(bound, accountId, StringComparison.Ordinal))
        {
            throw new AccountMismatchException(
                $"The local store '{store.Path}' belongs to account '{bound}', not {(accountId is null ? "to no account" : $"'{accountId}'")}: " +
                $"use {nameof(DatabasePathForAccount)} for one store per account, or sign the other account out with {nameof(SignOutAsync)}.")
            {
                StoreAccountId = bound,
                RequestedAccountId = accountId,
            };
        }

        return bound;
    }

    /// <summary>The token to send, after checking that an account-aware provider still speaks for the store's account.</summary>
    private async Task<string> GetTokenAsync(bool forceRefresh, CancellationToken ct)
    {
        if (_overrideToken is { } token)
        {
            return token;
        }

        if (_credentials is IAccountCredentialsProvider accounts && !string.Equals(accounts.AccountId, AccountId, StringComparison.Ordinal))
        {
            throw Mismatch(accounts.AccountId, "the credentials provider speaks for another account: nothing is uploaded until it matches again");
        }

        return await _credentials.GetTokenAsync(forceRefresh, ct).ConfigureAwait(false) ?? throw new UnauthenticatedSyncException("no access token", null);
    }

    private AccountMismatchException Mismatch(string? requested, string why) =>
        new($"The local store belongs to account '{AccountId ?? "(none)"}', not '{requested ?? "(none)"}': {why}.")
        {
            StoreAccountId = AccountId,
            RequestedAccountId = requested,
        };

    /// <summary>Paused while the provider names another account; resumes when it names the store's account again.</summary>
    private async Task PauseWhileOtherAccountAsync(AccountMismatchException mismatch, CancellationToken stop)
    {
        _state = SyncState.PausedAccountMismatch;
        _lastError = mismatch.Message;
        Emit(new SyncEvent { Kind = SyncEventKind.Paused, Message = mismatch.Message, Error = mismatch });
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _credentialsChanged.WaitAsync(_options.CredentialsRetryInterval, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (_overrideToken is not null || _credentials is not IAccountCredentialsProvider p || string.Equals(p.AccountId, AccountId, StringComparison.Ordinal))
            {
                break;
            }
        }

        _state = SyncState.Syncing;
        Emit(new SyncEvent { Kind = SyncEventKind.Resumed });
    }

    /// <summary>
    /// Replaces the bearer token with a refreshed one of the same account and resumes a paused engine. With an
    /// <see cref="HealthSyncOptions.CredentialsProvider"/>, the token is used in its place only until the server refuses it
    /// or the app calls <see cref="NotifyCredentialsChanged"/>: then the provider is asked again. For a token whose account
    /// the SDK should check, use <see cref="UpdateToken(string, string)"/>; to switch accounts, <see cref="SignOutAsync"/>.
    /// </summary>
    public void UpdateToken(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        if (_credentials is StaticCredentialsProvider s)
        {
            s.Token = token;
        }
        else
        {
            _overrideToken = token;
        }

        WakeOnNewCredentials();
    }

    /// <summary>
    /// Tells the engine that the <see cref="ICredentialsProvider"/> has a new token: it is asked again (a token given with
    /// <see cref="UpdateToken(string)"/> stops taking its place) and a paused engine resumes.
    /// </summary>
    public void NotifyCredentialsChanged()
    {
        _overrideToken = null;
        WakeOnNewCredentials();
    }

    private void WakeOnNewCredentials()
    {
        _credentialsChanged.Set();
        Kick();
    }
}
