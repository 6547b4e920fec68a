using HealthGrpc.Interop.Tests.Infrastructure;
using HealthGrpc.Rpc;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HealthGrpc.Interop.Tests.Server;

/// <summary>
/// Server-side wire probe: middleware that wraps the request body in a <see cref="GrpcFrameFlagStream"/> so the
/// interop service can check each request message's compressed flag (HealthGrpc.Rpc does not expose it).
/// </summary>
internal static class RequestFlagRecorder
{
    private static readonly object Key = new();

    public static async Task Middleware(HttpContext context, RequestDelegate next)
    {
        var probe = new GrpcFrameFlagStream(context.Request.Body);
        context.Items[Key] = probe;
        context.Request.Body = probe;
        // Make BodyReader (which HealthGrpc.Rpc reads) read through the probe too.
        context.Features.Set<IRequestBodyPipeFeature>(new RequestBodyPipeFeature(context));
        await next(context);
    }

    /// <summary>The compressed flag of the next request message the service has not looked at yet.</summary>
    public static bool NextMessageCompressed(HttpContext context)
    {
        if (context.Items[Key] is not GrpcFrameFlagStream probe)
        {
            throw new RpcException(StatusCode.Internal, "Request flag probe not installed.");
        }

        return probe.Flags.TryDequeue(out var compressed)
            ? compressed
            : throw new RpcException(StatusCode.Internal, "Request flag probe saw no message header for this request message.");
    }
}
