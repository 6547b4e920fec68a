using System.Net;
using Google.Protobuf;
using HealthGrpc.Rpc.Client;

namespace HealthGrpc.Rpc;

/// <summary>
/// A client connection pool to one gRPC server: one HttpClient over SocketsHttpHandler speaking HTTP/2
/// (h2c with prior knowledge for http://, TLS + ALPN h2 for https://). Thread-safe; create once, share.
/// </summary>
public sealed class RpcChannel : IDisposable
{
    private RpcChannel(Uri address, RpcChannelOptions options, HttpClient httpClient)
    {
        Address = address;
        Options = options;
        HttpClient = httpClient;
    }

    public Uri Address { get; }

    public RpcChannelOptions Options { get; }

    internal HttpClient HttpClient { get; }

    public static RpcChannel Create(Uri address, RpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException("The address must be http:// (h2c) or https://.", nameof(address));
        }

        options ??= new RpcChannelOptions();
        HttpMessageHandler handler;
        var disposeHandler = true;
        if (options.HttpHandler is not null)
        {
            handler = options.HttpHandler;
            disposeHandler = options.DisposeHttpHandler;
        }
        else
        {
            handler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = options.KeepAlivePingDelay,
                KeepAlivePingTimeout = options.KeepAlivePingTimeout,
                KeepAlivePingPolicy = options.KeepAlivePingWithoutCalls ? HttpKeepAlivePingPolicy.Always : HttpKeepAlivePingPolicy.WithActiveRequests,
                PooledConnectionIdleTimeout = options.PooledConnectionIdleTimeout,
                ConnectTimeout = options.ConnectTimeout,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                UseProxy = false,
            };
        }

        var client = new HttpClient(handler, disposeHandler)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var baseAddress = address.AbsoluteUri.EndsWith('/') ? address : new Uri(address.AbsoluteUri + "/");
        return new RpcChannel(baseAddress, options, client);
    }

    /// <summary>Unary call; returns the response or throws <see cref="RpcException"/>.</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        using var call = Unary(method, request, options);
        return await call.ResponseAsync;
    }

    /// <summary>Unary call with access to headers, status and trailers.</summary>
    public AsyncUnaryCall<TResponse> Unary<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = new ClientCall<TRequest, TResponse>(this, method, options);
        call.Start(request);
        return new AsyncUnaryCall<TResponse>(call, call.GetSingleResponseAsync(), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers);
    }

    public ClientStreamingCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var call = new ClientCall<TRequest, TResponse>(this, method, options);
        call.Start(null);
        return new ClientStreamingCall<TRequest, TResponse>(
            call, new ClientStreamWriter<TRequest, TResponse>(call), call.GetSingleResponseAsync(), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers);
    }

    public ServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = new ClientCall<TRequest, TResponse>(this, method, options);
        call.Start(request);
        return new ServerStreamingCall<TResponse>(call, new ResponseStream<TRequest, TResponse>(call), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers);
    }

    public DuplexStreamingCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var call = new ClientCall<TRequest, TResponse>(this, method, options);
        call.Start(null);
        return new DuplexStreamingCall<TRequest, TResponse>(
            call,
            new ClientStreamWriter<TRequest, TResponse>(call),
            new ResponseStream<TRequest, TResponse>(call),
            call.ResponseHeadersAsync,
            call.GetStatus,
            call.GetTrailers);
    }

    public void Dispose() => HttpClient.Dispose();
}
