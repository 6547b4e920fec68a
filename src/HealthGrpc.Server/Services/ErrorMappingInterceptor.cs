using Grpc.Core;
using Grpc.Core.Interceptors;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Observability;
using HealthGrpc.Server.Quotas;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Services;

/// <summary>
/// Every handler's exceptions pass through here once: domain outcomes become their status (<see cref="StatusMapper"/>),
/// a caller that went away (its call token cancelled, whatever the exception) is logged at debug (it is not a server fault), a storage failure is logged once with its
/// cause, and anything unexpected is logged with its stack and answered INTERNAL; no call ends UNKNOWN.
/// </summary>
internal sealed class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger, ServerMetrics metrics) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not RpcException)
        {
            throw Translate(error, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not RpcException)
        {
            throw Translate(error, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not RpcException)
        {
            throw Translate(error, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not RpcException)
        {
            throw Translate(error, context);
        }
    }

    private RpcException Translate(Exception error, ServerCallContext context)
    {
        if (StatusMapper.Map(error) is { } mapped)
        {
            if (error is SyncRejectedException refusal)
            {
                metrics.Refused(refusal.Reason);
            }
            else if (error is QuotaExceededException)
            {
                metrics.Refused(ErrorReason.QuotaExceeded);
            }

            if (mapped.StatusCode == StatusCode.Unavailable)
            {
                logger.LogError(error.InnerException ?? error, "{Method}: storage unavailable: {Message}", context.Method, error.Message);
            }

            return mapped;
        }

        if (context.CancellationToken.IsCancellationRequested)
        {
            // The client cancelled, its deadline passed or it reset the stream: whatever failed then (a cancelled read,
            // "the client reset the request stream", a write to a closed stream) is routine, and nobody reads this status.
            logger.LogDebug("{Method}: the caller went away ({Reason})", context.Method, error.Message);
            return new RpcException(new Status(context.Deadline <= DateTime.UtcNow ? StatusCode.DeadlineExceeded : StatusCode.Cancelled, "the call was cancelled"));
        }

        logger.LogError(error, "{Method}: unexpected failure", context.Method);
        return new RpcException(new Status(StatusCode.Internal, "internal server error; the batch was not acknowledged, retry it."));
    }
}
