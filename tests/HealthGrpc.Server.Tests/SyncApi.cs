using Grpc.Core;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Tests;

/// <summary>Call options and error details for the generated SyncService client, as a vendor's client sees them.</summary>
internal static class SyncApi
{
    public static CallOptions As(string token) =>
        new(headers: new Metadata { { "authorization", "Bearer " + token } }, deadline: DateTime.UtcNow.Add(TestTimeouts.Default));

    /// <summary>The <see cref="ErrorDetail"/> packed in the standard grpc-status-details-bin trailer (google.rpc.Status).</summary>
    public static ErrorDetail Detail(RpcException error) =>
        error.GetRpcStatus()?.GetDetail<ErrorDetail>()
        ?? throw new Xunit.Sdk.XunitException($"no ErrorDetail in grpc-status-details-bin on {error.StatusCode}: {error.Status.Detail}");
}
