using Grpc.Core;

namespace HealthGrpc.Server.Auth;

/// <summary>
/// A gRPC "trailers-only" response written outside a service method (the authentication challenge runs before
/// grpc-dotnet sees the call): HTTP 200, content-type application/grpc and the status in the headers.
/// </summary>
internal static class GrpcTrailersOnly
{
    public static Task WriteAsync(HttpResponse response, StatusCode code, string message)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }
}
