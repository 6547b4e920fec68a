using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace HealthGrpc.Server.Observability;

/// <summary>
/// Counts open Sync and Subscribe streams and times the read calls, around the handlers and outside
/// <see cref="Services.ErrorMappingInterceptor"/>, so a read's status is the one the client gets. The services stay unaware.
/// </summary>
internal sealed class CallMetricsInterceptor(ServerMetrics metrics) : Interceptor
{
    private const string SyncMethod = "/healthgrpc.v1.SyncService/Sync";
    private const string SubscribeMethod = "/healthgrpc.v1.ChangeFeedService/Subscribe";

    private static readonly HashSet<string> ReadMethods = new(StringComparer.Ordinal)
    {
        "/healthgrpc.v1.QueryService/ReadSamples",
        "/healthgrpc.v1.QueryService/GetAggregates",
        "/healthgrpc.v1.QueryService/GetDailyDigest",
        "/healthgrpc.v1.ChangeFeedService/Changes",
    };

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (!ReadMethods.Contains(context.Method))
        {
            return await continuation(request, context).ConfigureAwait(false);
        }

        var started = Stopwatch.GetTimestamp();
        var status = StatusCode.OK;
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (RpcException error)
        {
            status = error.StatusCode;
            throw;
        }
        finally
        {
            metrics.Read(context.Method[(context.Method.LastIndexOf('/') + 1)..], status, Stopwatch.GetElapsedTime(started));
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (context.Method != SubscribeMethod)
        {
            await continuation(request, responseStream, context).ConfigureAwait(false); // e.g. grpc.health.v1 Watch
            return;
        }

        metrics.SubscriberOpened();
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        finally
        {
            metrics.SubscriberClosed();
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (context.Method != SyncMethod)
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false); // e.g. server reflection
            return;
        }

        metrics.SyncStreamOpened();
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        finally
        {
            metrics.SyncStreamClosed();
        }
    }
}
