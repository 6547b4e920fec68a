namespace HealthGrpc.Client;

/// <summary>
/// Thrown when local data of one account would meet another account: a store bound to account A opened for account B
/// (or without an account), a token of another account given to <see cref="HealthSyncClient.UpdateToken(string, string)"/>.
/// Nothing was changed: no data was uploaded, bound or erased.
/// </summary>
public sealed class AccountMismatchException : HealthSyncException
{
    /// <summary>Creates the exception.</summary>
    public AccountMismatchException()
        : this("The local store belongs to another account.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AccountMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public AccountMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The account the local store belongs to (null: not bound to an account).</summary>
    public string? StoreAccountId { get; init; }

    /// <summary>The account that was asked for (null: none given).</summary>
    public string? RequestedAccountId { get; init; }
}

/// <summary>
/// A credentials provider that knows which account its current token belongs to. The engine checks it before every
/// call: while it names another account than the store's, the engine pauses (<see cref="SyncState.PausedAccountMismatch"/>)
/// and uploads nothing, until <see cref="HealthSyncClient.NotifyCredentialsChanged"/> and a matching account.
/// </summary>
public interface IAccountCredentialsProvider : ICredentialsProvider
{
    /// <summary>The account the token returned by <see cref="ICredentialsProvider.GetTokenAsync"/> belongs to (null: signed out).</summary>
    string? AccountId { get; }
}

/// <summary>What <see cref="HealthSyncClient.SignOutAsync"/> does with the local data.</summary>
public enum SignOutMode
{
    /// <summary>Keep the store (queue, quarantine, epoch, anchors) for when the same account signs in again; another account is refused.</summary>
    KeepLocalData,

    /// <summary>Delete the store file (and its WAL): undelivered and quarantined data of the account is gone from this device.</summary>
    EraseLocalData,
}
