using HealthGrpc.Contracts.V1;
using Grpc.Core;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Ingest;

namespace HealthGrpc.Server.Services;

internal sealed partial class SyncService
{
    /// <summary>One batch, unary: the same idempotent semantics as one batch on a Sync stream.</summary>
    public override async Task<UploadResponse> Upload(UploadRequest request, ServerCallContext context)
    {
        var userId = context.UserId();
        IngestPipeline.CheckDevice(request.Device);
        if (request.Batch is null)
        {
            throw new SyncRejectedException(ErrorReason.ProtocolViolation, "UploadRequest.batch is required.");
        }

        var outcome = await await pipeline.AdmitAsync(userId, request.Device!, request.Batch, context.CancellationToken);
        return new UploadResponse { Ack = AckWire.ToAck(outcome) };
    }
}
