using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// A batch or call the protocol refuses as a whole (a gap, a fenced epoch, a limit, a protocol violation). The
/// domain says what happened; <see cref="Services.StatusMapper"/> alone decides the status code and trailers.
/// </summary>
internal sealed class SyncRejectedException(ErrorReason reason, string message, ulong highWaterMark = 0, ulong currentEpoch = 0)
    : Exception(message)
{
    public ErrorReason Reason { get; } = reason;

    public ulong HighWaterMark { get; } = highWaterMark;

    public ulong CurrentEpoch { get; } = currentEpoch;
}
