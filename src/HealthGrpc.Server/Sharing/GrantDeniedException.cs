namespace HealthGrpc.Server.Sharing;

/// <summary>
/// A read of another user's data that no active grant covers: PERMISSION_DENIED with ERROR_REASON_NO_GRANT, the same
/// answer whether that user exists or not (see <see cref="Services.StatusMapper"/>).
/// </summary>
internal sealed class GrantDeniedException(string message) : Exception(message);
