namespace HealthGrpc.Server.Sharing;

/// <summary>Who makes a read call: a user (their token), or the holder of a grant's share code (no account).</summary>
internal readonly record struct Reader(string? UserId, string? ShareGrantId)
{
    public static Reader User(string userId) => new(userId, null);

    public static Reader ShareCode(string grantId) => new(null, grantId);
}
