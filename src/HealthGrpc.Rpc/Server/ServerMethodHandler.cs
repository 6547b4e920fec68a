using Google.Protobuf;
using HealthGrpc.Rpc.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HealthGrpc.Rpc.Server;

internal interface IServerMethodHandler
{
    string Path { get; }

    Task HandleAsync(HttpContext http);
}

/// <summary>Runs one bound service method for one HTTP/2 request.</summary>
internal sealed class ServerMethodHandler<TService, TRequest, TResponse> : IServerMethodHandler
    where TService : class
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly MethodType _type;
    private readonly Delegate _invoker;
    private readonly MessageParser<TRequest> _parser;
    private readonly ObjectFactory _factory = ActivatorUtilities.CreateFactory(typeof(TService), Type.EmptyTypes);

    public ServerMethodHandler(string path, MethodType type, Delegate invoker)
    {
        Path = path;
        _type = type;
        _invoker = invoker;
        _parser = MessageParsers.Get<TRequest>();
    }

    public string Path { get; }

    public async Task HandleAsync(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<RpcServerOptions>();
        if (!ServerPreflight.TryAccept(http, out var timeout, out var encoding))
        {
            return;
        }

        var shutdown = http.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        var deadline = timeout is { } t ? GrpcProtocol.DeadlineFrom(DateTime.UtcNow, t) : DateTime.MaxValue;
        using var call = new HttpServerCallContext(http, options, Path, deadline, timeout, encoding, shutdown);
        TService? created = null;
        try
        {
            var service = http.RequestServices.GetService<TService>();
            if (service is null)
            {
                created = (TService)_factory(http.RequestServices, null);
                service = created;
            }

            switch (_type)
            {
                case MethodType.Unary:
                {
                    var request = await call.ReadSingleMessageAsync(_parser);
                    var response = await ((Func<TService, TRequest, ServerCallContext, Task<TResponse>>)_invoker)(service, request, call);
                    await FinishSingleResponseAsync(call, response);
                    break;
                }

                case MethodType.ClientStreaming:
                {
                    var response = await ((Func<TService, IAsyncEnumerable<TRequest>, ServerCallContext, Task<TResponse>>)_invoker)(
                        service, call.ReadAllMessagesAsync(_parser), call);
                    await FinishSingleResponseAsync(call, response);
                    break;
                }

                case MethodType.ServerStreaming:
                {
                    var request = await call.ReadSingleMessageAsync(_parser);
                    await ((Func<TService, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task>)_invoker)(
                        service, request, new ServerStreamWriter<TResponse>(call), call);
                    call.Complete(FinalStatus(call, call.Status), null);
                    break;
                }

                default:
                {
                    await ((Func<TService, IAsyncEnumerable<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task>)_invoker)(
                        service, call.ReadAllMessagesAsync(_parser), new ServerStreamWriter<TResponse>(call), call);
                    call.Complete(FinalStatus(call, call.Status), null);
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            var (status, trailers) = MapException(ex, call, options, http);
            call.Complete(status, trailers);
        }
        finally
        {
            if (created is IAsyncDisposable ad)
            {
                await ad.DisposeAsync();
            }
            else if (created is IDisposable d)
            {
                d.Dispose();
            }
        }
    }

    private static async Task FinishSingleResponseAsync(HttpServerCallContext call, TResponse? response)
    {
        var status = FinalStatus(call, call.Status);
        if (status.Code == StatusCode.OK)
        {
            if (response is null)
            {
                throw new RpcException(StatusCode.Internal, "The service method returned a null response message.");
            }

            // No flush: the message goes out together with the trailers.
            await call.WriteMessageAsync(response, flush: false, CancellationToken.None);
        }

        call.Complete(status, null);
    }

    private static RpcStatus FinalStatus(HttpServerCallContext call, RpcStatus status) =>
        call.DeadlineExceeded ? new RpcStatus(StatusCode.DeadlineExceeded, "Deadline Exceeded") : status;

    internal static (RpcStatus Status, Metadata? Trailers) MapException(Exception ex, HttpServerCallContext call, RpcServerOptions options, HttpContext http)
    {
        if (ex is RpcException rpc)
        {
            return (rpc.Status, rpc.Trailers);
        }

        var cancellation = ex is OperationCanceledException or IOException or Microsoft.AspNetCore.Connections.ConnectionAbortedException;
        if (cancellation && call.DeadlineExceeded)
        {
            return (new RpcStatus(StatusCode.DeadlineExceeded, "Deadline Exceeded"), null);
        }

        if (cancellation && call.ClientCancelled)
        {
            return (new RpcStatus(StatusCode.Cancelled, "Call canceled by the client."), null);
        }

        if (cancellation && call.ShuttingDown)
        {
            return (new RpcStatus(StatusCode.Unavailable, "Server is shutting down."), null);
        }

        RpcException? mapped = null;
        try
        {
            mapped = options.ExceptionMapper?.Invoke(ex);
        }
#pragma warning disable CA1031 // A faulty mapper must not take the call down without a status.
        catch (Exception mapperEx)
#pragma warning restore CA1031
        {
            Log(http).LogError(mapperEx, "RpcServerOptions.ExceptionMapper threw for {Method}", call.Method);
        }

        if (mapped is not null)
        {
            return (mapped.Status, mapped.Trailers);
        }

        Log(http).LogError(ex, "Unhandled exception in gRPC method {Method}", call.Method);
        var detail = options.EnableDetailedErrors
            ? $"Exception was thrown by handler. {ex.GetType().Name}: {ex.Message}"
            : "Exception was thrown by handler.";
        return (new RpcStatus(StatusCode.Unknown, detail), null);
    }

    private static ILogger Log(HttpContext http) =>
        http.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("HealthGrpc.Rpc.Server") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
}

/// <summary>Request checks that run before a handler: protocol, content type, timeout, encoding.</summary>
internal static class ServerPreflight
{
    public static bool TryAccept(HttpContext http, out TimeSpan? timeout, out string? encoding)
    {
        timeout = null;
        encoding = null;
        var request = http.Request;
        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            HttpServerCallContext.WriteTrailersOnly(
                http,
                new RpcStatus(StatusCode.Internal, $"Content-Type '{request.ContentType}' is not supported."),
                httpStatus: StatusCodes.Status415UnsupportedMediaType);
            return false;
        }

        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            HttpServerCallContext.WriteTrailersOnly(
                http,
                new RpcStatus(StatusCode.Internal, $"Request protocol '{request.Protocol}' is not supported (gRPC needs HTTP/2)."),
                httpStatus: StatusCodes.Status426UpgradeRequired);
            return false;
        }

        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader];
        if (timeoutHeader.Count > 0)
        {
            if (!GrpcProtocol.TryParseTimeout(timeoutHeader.ToString(), out var t))
            {
                HttpServerCallContext.WriteTrailersOnly(http, new RpcStatus(StatusCode.Internal, $"Malformed grpc-timeout header '{timeoutHeader}'."));
                return false;
            }

            timeout = t;
        }

        var encodingHeader = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (!string.IsNullOrEmpty(encodingHeader))
        {
            if (!GrpcProtocol.IsSupportedEncoding(encodingHeader))
            {
                HttpServerCallContext.WriteTrailersOnly(http, new RpcStatus(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{encodingHeader}'. Supported: {GrpcProtocol.SupportedEncodings}."));
                http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
                return false;
            }

            encoding = encodingHeader.ToLowerInvariant();
        }

        // Streaming calls are long-lived and may idle: lift the per-request body limits Kestrel applies to HTTP/1-style requests.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        if (http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }

        return true;
    }
}
