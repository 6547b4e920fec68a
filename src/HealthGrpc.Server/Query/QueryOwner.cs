using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Query;

/// <summary>Whose data a query reads. Grants do not exist yet, so a caller reads only their own data.</summary>
internal static class QueryOwner
{
    /// <summary>The owner to read: the caller for an empty <paramref name="ownerUserId"/> or their own id.</summary>
    public static string Resolve(string callerId, string ownerUserId)
    {
        if (ownerUserId.Length == 0 || string.Equals(ownerUserId, callerId, StringComparison.Ordinal))
        {
            return callerId;
        }

        // The same answer whether the user exists or not: a refusal must not reveal who has an account.
        throw new QueryRejectedException(
            "owner_user_id", "no grant lets you read another user's data (owner_user_id names someone else).", ErrorReason.NoGrant);
    }
}
