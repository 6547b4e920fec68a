using System.Globalization;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using HealthGrpc.Rpc.Internal;
using Microsoft.AspNetCore.Http;

namespace HealthGrpc.Rpc.Server;

/// <summary>The Kestrel-backed call context: owns response headers, framing and trailers of one call.</summary>
internal sealed class HttpServerCallContext : ServerCallContext, IDisposable
{
    private readonly HttpContext _http;
    private readonly RpcServerOptions _options;
    private readonly string? _requestEncoding;
    private readonly bool _clientAcceptsGzip;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenSource? _deadlineCts;
    private int _parsedAhead; // request messages parsed but not yet handed out: the peek answers 0 for the next one
    private readonly CancellationToken _shutdown;
    private Metadata? _requestHeaders;
    private string _responseCompression;
    private bool _headersPrepared;
    private bool _wroteMessage;
    private int _writing;

    public HttpServerCallContext(HttpContext http, RpcServerOptions options, string method, DateTime deadline, TimeSpan? timeout, string? requestEncoding, CancellationToken shutdown)
    {
        _http = http;
        _options = options;
        Method = method;
        Deadline = deadline;
        _requestEncoding = requestEncoding;
        _shutdown = shutdown;
        _clientAcceptsGzip = GrpcProtocol.AcceptsGzip(http.Request.Headers[GrpcProtocol.AcceptEncodingHeader].ToString());
        _responseCompression = string.Equals(options.ResponseCompression, GrpcProtocol.Gzip, StringComparison.OrdinalIgnoreCase) && _clientAcceptsGzip
            ? GrpcProtocol.Gzip
            : GrpcProtocol.Identity;
        if (timeout is { } t)
        {
            // CancellationTokenSource cannot schedule beyond ~49 days; such deadlines never fire in practice.
            _deadlineCts = t < TimeSpan.FromDays(30) ? new CancellationTokenSource(t) : new CancellationTokenSource();
            _cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, shutdown, _deadlineCts.Token);
        }
        else
        {
            _cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, shutdown);
        }
    }

    public override string Method { get; }

    public override Metadata RequestHeaders => _requestHeaders ??= BuildRequestHeaders(_http.Request.Headers);

    public override Metadata ResponseTrailers { get; } = new();

    public override CancellationToken CancellationToken => _cts.Token;

    public override DateTime Deadline { get; }

    public override string Peer
    {
        get
        {
            var conn = _http.Connection;
            if (conn.RemoteIpAddress is null)
            {
                return "unknown";
            }

            var ip = conn.RemoteIpAddress;
            if (ip.IsIPv4MappedToIPv6)
            {
                ip = ip.MapToIPv4();
            }

            return ip.AddressFamily == AddressFamily.InterNetworkV6
                ? $"ipv6:[{ip}]:{conn.RemotePort.ToString(CultureInfo.InvariantCulture)}"
                : $"ipv4:{ip}:{conn.RemotePort.ToString(CultureInfo.InvariantCulture)}";
        }
    }

    public override HttpContext HttpContext => _http;

    public override RpcStatus Status { get; set; } = RpcStatus.Ok;

    public override WriteOptions WriteOptions { get; set; } = WriteOptions.Default;

    public override string ResponseCompression
    {
        get => _responseCompression;
        set
        {
            if (_headersPrepared)
            {
                throw new InvalidOperationException("Response compression cannot change after the response headers were sent.");
            }

            if (!GrpcProtocol.IsSupportedEncoding(value))
            {
                throw new ArgumentException($"Unsupported response compression '{value}' (use gzip or identity).", nameof(value));
            }

            // Never compress towards a client that did not advertise gzip.
            _responseCompression = string.Equals(value, GrpcProtocol.Gzip, StringComparison.OrdinalIgnoreCase) && _clientAcceptsGzip
                ? GrpcProtocol.Gzip
                : GrpcProtocol.Identity;
        }
    }

    public bool DeadlineExceeded => _deadlineCts?.IsCancellationRequested == true;

    public bool ClientCancelled => _http.RequestAborted.IsCancellationRequested;

    public bool ShuttingDown => _shutdown.IsCancellationRequested;

    public int MaxReceiveMessageSize => _options.MaxReceiveMessageSize ?? int.MaxValue;

    public override async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        if (_headersPrepared)
        {
            throw new InvalidOperationException("Response headers can only be sent once per call.");
        }

        PrepareHeaders(responseHeaders);
        await _http.Response.BodyWriter.FlushAsync(CancellationToken);
    }

    private void PrepareHeaders(Metadata? extra)
    {
        if (_headersPrepared)
        {
            return;
        }

        _headersPrepared = true;
        var response = _http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        var headers = response.Headers;
        headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
        if (_responseCompression == GrpcProtocol.Gzip)
        {
            headers[GrpcProtocol.EncodingHeader] = GrpcProtocol.Gzip;
        }

        if (extra is not null)
        {
            foreach (var e in extra)
            {
                headers.Append(e.Key, e.WireValue);
            }
        }
    }

    public async ValueTask<TReq> ReadSingleMessageAsync<TReq>(MessageParser<TReq> parser)
        where TReq : class, IMessage<TReq>
    {
        var reader = _http.Request.BodyReader;
        var message = await GrpcFraming.ReadMessageAsync(reader, parser, MaxReceiveMessageSize, _requestEncoding, CancellationToken)
            ?? throw new RpcException(StatusCode.Internal, "Request stream ended without a request message.");
        var extra = await GrpcFraming.ReadMessageAsync(reader, parser, MaxReceiveMessageSize, _requestEncoding, CancellationToken);
        if (extra is not null)
        {
            throw new RpcException(StatusCode.Internal, "More than one request message received for a single-request method.");
        }

        return message;
    }

    public async IAsyncEnumerable<TReq> ReadAllMessagesAsync<TReq>(MessageParser<TReq> parser, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TReq : class, IMessage<TReq>
    {
        var reader = _http.Request.BodyReader;
        using var linked = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, cancellationToken)
            : null;
        var token = linked?.Token ?? CancellationToken;
        var batch = new Queue<TReq>();
        while (await GrpcFraming.ReadBatchAsync(reader, parser, MaxReceiveMessageSize, _requestEncoding, batch, token))
        {
            // Dequeued, not iterated: a message the handler has taken is no longer referenced from here.
            while (batch.TryDequeue(out var message))
            {
                _parsedAhead = batch.Count;
                yield return message;
            }
        }
    }

    public override async ValueTask<int?> PeekRequestMessageSizeAsync(CancellationToken cancellationToken)
    {
        if (_parsedAhead > 0)
        {
            return 0;
        }

        var reader = _http.Request.BodyReader;
        using var linked = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, cancellationToken)
            : null;
        var token = linked?.Token ?? CancellationToken;
        while (true)
        {
            var result = await reader.ReadAsync(token);
            var buffer = result.Buffer;
            if (GrpcFraming.TryPeekFrameSize(buffer) is { } size)
            {
                reader.AdvanceTo(buffer.Start); // nothing consumed or examined: the next read returns these bytes at once
                return size;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                return buffer.Length == 0 ? null : 0; // a partial prefix: the next read reports the truncated frame
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public async Task WriteMessageAsync(IMessage message, bool flush, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Interlocked.Exchange(ref _writing, 1) == 1)
        {
            throw new InvalidOperationException("A response write is already in progress: await each WriteAsync before the next.");
        }

        try
        {
            // An explicit token replaces the call token, so a handler can still flush final messages (acks of work it
            // already accepted) after shutdown has started.
            var token = cancellationToken.CanBeCanceled ? cancellationToken : CancellationToken;
            token.ThrowIfCancellationRequested();
            PrepareHeaders(null);
            var writer = _http.Response.BodyWriter;
            GrpcFraming.WriteMessage(writer, message, _options.MaxSendMessageSize, _responseCompression == GrpcProtocol.Gzip && !WriteOptions.NoCompress);
            _wroteMessage = true;
            if (flush)
            {
                await writer.FlushAsync(token);
            }
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    /// <summary>Ends the call: trailers-only response when nothing was sent yet, otherwise HTTP/2 trailers.</summary>
    public void Complete(RpcStatus status, Metadata? extraTrailers)
    {
        var response = _http.Response;
        if (_http.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        if (!response.HasStarted && !_wroteMessage)
        {
            WriteTrailersOnly(_http, status, ResponseTrailers, extraTrailers, _headersPrepared);
            return;
        }

        PrepareHeaders(null);
        if (!response.SupportsTrailers())
        {
            return;
        }

        response.AppendTrailer(GrpcProtocol.StatusTrailer, ((int)status.Code).ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(status.Detail))
        {
            response.AppendTrailer(GrpcProtocol.MessageTrailer, GrpcProtocol.PercentEncode(status.Detail));
        }

        AppendTrailers(response, ResponseTrailers);
        if (extraTrailers is not null)
        {
            AppendTrailers(response, extraTrailers);
        }
    }

    private static void AppendTrailers(HttpResponse response, Metadata trailers)
    {
        foreach (var e in trailers)
        {
            response.AppendTrailer(e.Key, e.WireValue);
        }
    }

    /// <summary>Writes a trailers-only response (one HEADERS frame with END_STREAM carrying grpc-status).</summary>
    public static void WriteTrailersOnly(HttpContext http, RpcStatus status, Metadata? trailers = null, Metadata? extraTrailers = null, bool keepPreparedHeaders = false, int httpStatus = StatusCodes.Status200OK)
    {
        var response = http.Response;
        if (response.HasStarted)
        {
            return;
        }

        if (!keepPreparedHeaders)
        {
            response.Headers.Clear();
        }

        response.StatusCode = httpStatus;
        response.ContentType = GrpcProtocol.ContentType;
        var headers = response.Headers;
        headers[GrpcProtocol.StatusTrailer] = ((int)status.Code).ToString(CultureInfo.InvariantCulture);
        if (!string.IsNullOrEmpty(status.Detail))
        {
            headers[GrpcProtocol.MessageTrailer] = GrpcProtocol.PercentEncode(status.Detail);
        }

        foreach (var md in new[] { trailers, extraTrailers })
        {
            if (md is null)
            {
                continue;
            }

            foreach (var e in md)
            {
                headers.Append(e.Key, e.WireValue);
            }
        }
    }

    internal static Metadata BuildRequestHeaders(IHeaderDictionary headers)
    {
        var md = new Metadata();
        foreach (var (key, values) in headers)
        {
            if (GrpcProtocol.IsReservedHeader(key))
            {
                continue;
            }

            foreach (var v in values)
            {
                if (v is null)
                {
                    continue;
                }

                try
                {
                    md.AddFromWire(key, v);
                }
                catch (FormatException)
                {
                    // An undecodable -bin header is dropped rather than failing the call.
                }
            }
        }

        return md;
    }

    public void Dispose()
    {
        _cts.Dispose();
        _deadlineCts?.Dispose();
    }
}

/// <summary>Writes to the response stream of a server-streaming or duplex call.</summary>
internal sealed class ServerStreamWriter<T>(HttpServerCallContext context) : IServerStreamWriter<T>
    where T : IMessage<T>
{
    public Task WriteAsync(T message, CancellationToken cancellationToken = default) =>
        context.WriteMessageAsync(message, flush: !context.WriteOptions.BufferHint, cancellationToken);
}
