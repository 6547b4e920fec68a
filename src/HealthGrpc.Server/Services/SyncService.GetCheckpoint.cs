using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;
using Grpc.Core;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Ingest;

namespace HealthGrpc.Server.Services;

internal sealed partial class SyncService
{
    /// <summary>What the server committed for a device: a reinstalled app resumes from these anchors.</summary>
    public override async Task<GetCheckpointResponse> GetCheckpoint(GetCheckpointRequest request, ServerCallContext context)
    {
        var userId = context.UserId();
        if (request.DeviceId.Length is 0 or > 128)
        {
            throw new SyncRejectedException(ErrorReason.ProtocolViolation, "device_id must be 1..128 characters.");
        }

        var checkpoint = await store.GetCheckpointAsync(userId, request.DeviceId, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"device '{request.DeviceId}' has never synced for this user."));
        var response = new GetCheckpointResponse
        {
            Device = new DeviceIdentity { DeviceId = checkpoint.DeviceId, Epoch = checkpoint.Epoch },
            HighWaterMark = checkpoint.HighWaterMark,
            LastCommitTime = Timestamp.FromDateTimeOffset(checkpoint.LastCommit),
        };
        foreach (var anchor in checkpoint.Anchors)
        {
            response.Anchors.Add(AckWire.ToWire(anchor));
        }

        return response;
    }
}
