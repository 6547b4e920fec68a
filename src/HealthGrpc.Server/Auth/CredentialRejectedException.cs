namespace HealthGrpc.Server.Auth;

/// <summary>The caller's credential stopped authenticating during a call (revoked, expired, user disabled): UNAUTHENTICATED.</summary>
internal sealed class CredentialRejectedException(string message) : Exception(message);
