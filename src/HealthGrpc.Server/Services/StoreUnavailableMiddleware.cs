using HealthGrpc.Server.Auth;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

/// <summary>
/// Answers UNAVAILABLE (trailers-only) when the store is unreachable before a gRPC method runs: authentication reads the
/// credential from the store in the ASP.NET Core pipeline, outside <see cref="ErrorMappingInterceptor"/>, so without
/// this a PostgreSQL outage or an exhausted connection pool would surface as HTTP 500 (UNKNOWN to gRPC clients, which
/// do not retry it) instead of the retryable status every other storage failure gets.
/// </summary>
internal sealed class StoreUnavailableMiddleware(RequestDelegate next, ILogger<StoreUnavailableMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (HealthStoreUnavailableException error) when (!context.Response.HasStarted)
        {
            logger.LogError(error.InnerException ?? error, "{Path}: storage unavailable before the call: {Message}", context.Request.Path, error.Message);
            var status = StatusMapper.Map(error)!.Status;
            await GrpcTrailersOnly.WriteAsync(context.Response, status.StatusCode, status.Detail).ConfigureAwait(false);
        }
    }
}
