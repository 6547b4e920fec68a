using HealthGrpc.Contracts.V1;
using HealthGrpc.Rpc;

namespace HealthGrpc.Server.Tests;

/// <summary>Typed SyncService methods, bound from the same descriptors a vendor's generated client uses.</summary>
internal static class SyncApi
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = SyncReflection.Descriptor.Services[0];

    public static readonly RpcMethod<SyncRequest, SyncResponse> Sync = RpcMethod<SyncRequest, SyncResponse>.From(Service.FindMethodByName("Sync"));

    public static readonly RpcMethod<UploadRequest, UploadResponse> Upload = RpcMethod<UploadRequest, UploadResponse>.From(Service.FindMethodByName("Upload"));

    public static readonly RpcMethod<GetCheckpointRequest, GetCheckpointResponse> GetCheckpoint =
        RpcMethod<GetCheckpointRequest, GetCheckpointResponse>.From(Service.FindMethodByName("GetCheckpoint"));

    public static CallOptions As(string token) => new(Headers: new Metadata { { "authorization", "Bearer " + token } }, Deadline: DateTime.UtcNow.Add(TestTimeouts.Default));

    public static ErrorDetail Detail(RpcException error) =>
        ErrorDetail.Parser.ParseFrom(error.Trailers.GetBytes("healthgrpc-error-bin") ?? throw new Xunit.Sdk.XunitException($"no healthgrpc-error-bin trailer on {error.StatusCode}: {error.Detail}"));
}
