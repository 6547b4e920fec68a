using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;

namespace HealthGrpc.Server.HttpApi;

/// <summary>
/// A status answered before a transcoded call reaches grpc-dotnet (the authentication challenge), in the shape JSON
/// transcoding gives every other error: the HTTP status of the gRPC code and a <c>google.rpc.Status</c> in JSON.
/// </summary>
internal static class JsonStatusBody
{
    /// <summary>Like transcoding's error bodies, which write every field (an empty <c>details</c> too).</summary>
    private static readonly JsonFormatter DefaultsIncluded = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>True for a request routed to a JSON-transcoded method (its answer must be JSON, not gRPC trailers).</summary>
    public static bool IsTranscoded(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not null;

    public static Task WriteAsync(HttpResponse response, StatusCode code, string message)
    {
        response.StatusCode = code switch
        {
            StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
            StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
            _ => throw new ArgumentOutOfRangeException(nameof(code), code, "only the authentication outcomes are written here"),
        };
        response.ContentType = "application/json; charset=utf-8";
        var body = DefaultsIncluded.Format(new Google.Rpc.Status { Code = (int)code, Message = message });
        return response.WriteAsync(body, response.HttpContext.RequestAborted);
    }
}
