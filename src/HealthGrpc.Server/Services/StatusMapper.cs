using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.ChangeFeed;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Query;
using HealthGrpc.Server.Quotas;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

/// <summary>
/// The one place where domain refusals become gRPC statuses. A refusal carries an <see cref="ErrorDetail"/> packed as
/// an <see cref="Any"/> in a <c>google.rpc.Status</c> in the standard <c>grpc-status-details-bin</c> trailer, so clients
/// act on a reason code, not on message text, with any language's status-details helper.
/// </summary>
internal static class StatusMapper
{
    /// <summary>The status to answer with, or null for exceptions that are not a domain outcome.</summary>
    public static RpcException? Map(Exception exception) => exception switch
    {
        SyncRejectedException rejected => WithDetail(CodeFor(rejected.Reason), rejected.Message,
            new ErrorDetail { Reason = rejected.Reason, HighWaterMark = rejected.HighWaterMark, CurrentEpoch = rejected.CurrentEpoch }),
        QuotaExceededException over => WithDetail(StatusCode.ResourceExhausted, over.Message, new ErrorDetail
        {
            Reason = ErrorReason.QuotaExceeded, Quota = over.Quota, QuotaLimit = (ulong)over.Limit, QuotaUsage = (ulong)over.Usage,
        }),
        Insights.InsightNotFoundException missing => new RpcException(new Grpc.Core.Status(StatusCode.NotFound, missing.Message)),
        GrantDeniedException denied => WithDetail(StatusCode.PermissionDenied, denied.Message, new ErrorDetail { Reason = ErrorReason.NoGrant }),
        // The standard field violation names the argument for any language's status-details helper.
        QueryRejectedException invalid => new Google.Rpc.Status
        {
            Code = (int)StatusCode.InvalidArgument,
            Message = invalid.Message,
            Details = { Any.Pack(new Google.Rpc.BadRequest { FieldViolations = { new Google.Rpc.BadRequest.Types.FieldViolation { Field = invalid.Field, Description = invalid.Message } } }) },
        }.ToRpcException(),
        // Nothing of the batch was stored: the client keeps it queued and retries with backoff.
        HealthStoreUnavailableException unavailable => new RpcException(new Grpc.Core.Status(StatusCode.Unavailable,
            $"storage unavailable, retry later: {unavailable.Message}")),
        // The server stopped buffering for a subscriber that does not read: it resumes from its last token.
        SubscriberTooSlowException slow => WithDetail(StatusCode.ResourceExhausted, slow.Message, new ErrorDetail { Reason = ErrorReason.SubscriberTooSlow }),
        // The stream's token was revoked or expired, or its user disabled, after the call was authenticated.
        CredentialRejectedException rejected => new RpcException(new Grpc.Core.Status(StatusCode.Unauthenticated, rejected.Message)),
        InvalidProtocolBufferException malformed => MalformedRequest("the request message", malformed.Message).ToRpcException(),
        _ => null,
    };

    /// <summary>INVALID_ARGUMENT with PROTOCOL_VIOLATION for bytes that do not parse as the method's request type.</summary>
    public static Google.Rpc.Status MalformedRequest(string what, string parseError) =>
        Rich(StatusCode.InvalidArgument, $"{what} is not valid protobuf for this method: {parseError}", new ErrorDetail { Reason = ErrorReason.ProtocolViolation });

    private static RpcException WithDetail(StatusCode code, string message, ErrorDetail detail) => Rich(code, message, detail).ToRpcException();

    private static Google.Rpc.Status Rich(StatusCode code, string message, ErrorDetail detail) =>
        new() { Code = (int)code, Message = message, Details = { Any.Pack(detail) } };

    private static StatusCode CodeFor(ErrorReason reason) => reason switch
    {
        ErrorReason.SequenceGap or ErrorReason.EpochFenced or ErrorReason.ChangeTokenExpired => StatusCode.FailedPrecondition,
        ErrorReason.TooManyInFlight or ErrorReason.BatchTooLarge => StatusCode.ResourceExhausted,
        ErrorReason.NoGrant => StatusCode.PermissionDenied,
        _ => StatusCode.InvalidArgument,
    };
}
