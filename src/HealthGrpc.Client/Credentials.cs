namespace HealthGrpc.Client;

/// <summary>Supplies the bearer token sent as <c>authorization: Bearer &lt;token&gt;</c> on every call.</summary>
public interface ICredentialsProvider
{
    /// <summary>
    /// The current token. <paramref name="forceRefresh"/> is true after the server answered UNAUTHENTICATED: return a
    /// refreshed token if one can be obtained (the engine stays paused while the token is unchanged).
    /// </summary>
    ValueTask<string?> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken);
}

/// <summary>A fixed token that the app replaces with <see cref="HealthSyncClient.UpdateToken(string)"/>.</summary>
public sealed class StaticCredentialsProvider : ICredentialsProvider
{
    private volatile string? _token;

    /// <summary>Creates the provider with an initial token (may be null until the user signs in).</summary>
    public StaticCredentialsProvider(string? token) => _token = token;

    /// <summary>The current token.</summary>
    public string? Token
    {
        get => _token;
        set => _token = value;
    }

    /// <inheritdoc />
    public ValueTask<string?> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken) => ValueTask.FromResult(_token);
}
