using Google.Protobuf;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Rpc;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

/// <summary>
/// The one place where domain refusals become gRPC statuses. Every refusal carries an <see cref="ErrorDetail"/> in
/// the <c>healthgrpc-error-bin</c> trailer so clients act on a reason code, not on message text.
/// </summary>
internal static class StatusMapper
{
    public const string ErrorDetailTrailer = "healthgrpc-error-bin";

    /// <summary>Plugged into <see cref="RpcServerOptions"/>: returns null for exceptions it does not own.</summary>
    public static RpcException? Map(Exception exception) => exception switch
    {
        SyncRejectedException rejected => new RpcException(CodeFor(rejected.Reason), rejected.Message, DetailTrailer(rejected)),
        // Nothing of the batch was stored: the client keeps it queued and retries with backoff.
        HealthStoreUnavailableException unavailable => new RpcException(StatusCode.Unavailable, $"storage unavailable, retry later: {unavailable.Message}"),
        _ => null,
    };

    public static RpcException Unauthenticated() =>
        new(StatusCode.Unauthenticated, "missing, malformed or unknown bearer token (metadata 'authorization: Bearer <token>').");

    private static StatusCode CodeFor(ErrorReason reason) => reason switch
    {
        ErrorReason.SequenceGap or ErrorReason.EpochFenced or ErrorReason.ChangeTokenExpired => StatusCode.FailedPrecondition,
        ErrorReason.TooManyInFlight or ErrorReason.BatchTooLarge => StatusCode.ResourceExhausted,
        ErrorReason.NoGrant => StatusCode.PermissionDenied,
        _ => StatusCode.InvalidArgument,
    };

    private static Metadata DetailTrailer(SyncRejectedException rejected)
    {
        var detail = new ErrorDetail { Reason = rejected.Reason, HighWaterMark = rejected.HighWaterMark, CurrentEpoch = rejected.CurrentEpoch };
        var trailers = new Metadata();
        trailers.Add(ErrorDetailTrailer, detail.ToByteArray());
        return trailers;
    }
}
