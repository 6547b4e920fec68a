using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using HealthGrpc.Rpc.Internal;

namespace HealthGrpc.Rpc.Client;

/// <summary>One client call over one HTTP/2 stream: request body, response headers, messages and trailers.</summary>
internal sealed class ClientCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly RpcChannel _channel;
    private readonly RpcMethod<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _callCts;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly bool _gzipRequests;
    private readonly Lock _lock = new();
    private PipeRequestContent? _requestContent;
    private Task<Metadata>? _headersTask;
    private HttpResponseMessage? _response;
    private PipeReader? _body;
    private string? _responseEncoding;
    private RpcStatus? _status;
    private Metadata? _trailers;
    private bool _disposed;

    public ClientCall(RpcChannel channel, RpcMethod<TRequest, TResponse> method, CallOptions? options)
    {
        _channel = channel;
        _method = method;
        _options = options ?? new CallOptions();
        var compression = _options.Compression ?? channel.Options.Compression;
        if (compression is not null && !GrpcProtocol.IsSupportedEncoding(compression))
        {
            throw new ArgumentException($"Unsupported compression '{compression}' (use gzip or identity).", nameof(options));
        }

        _gzipRequests = string.Equals(compression, GrpcProtocol.Gzip, StringComparison.OrdinalIgnoreCase);
        if (_options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            var remaining = deadline.ToUniversalTime() - DateTime.UtcNow;
            _deadlineCts = new CancellationTokenSource();
            if (remaining <= TimeSpan.Zero)
            {
                _deadlineCts.Cancel();
            }
            else if (remaining < TimeSpan.FromDays(30))
            {
                _deadlineCts.CancelAfter(remaining);
            }

            _callCts = CancellationTokenSource.CreateLinkedTokenSource(_options.CancellationToken, _deadlineCts.Token);
        }
        else
        {
            _callCts = CancellationTokenSource.CreateLinkedTokenSource(_options.CancellationToken);
        }

        _callCts.Token.Register(static state => ((ClientCall<TRequest, TResponse>)state!).OnCancelled(), this);
    }

    /// <summary>Cancellation (token, deadline, dispose, failure) resets the HTTP/2 stream by disposing the response.</summary>
    private void OnCancelled()
    {
        HttpResponseMessage? response;
        lock (_lock)
        {
            response = _response;
        }

        response?.Dispose();
        _requestContent?.Abort();
    }

    public CancellationToken CallToken => _callCts.Token;

    public int? MaxSendMessageSize => _channel.Options.MaxSendMessageSize;

    public bool GzipRequests => _gzipRequests;

    public Task<Metadata> ResponseHeadersAsync => _headersTask ?? throw new InvalidOperationException("Call not started.");

    /// <summary>Starts the HTTP/2 request. A null request means a streaming request body.</summary>
    public void Start(TRequest? request)
    {
        HttpContent content;
        if (request is not null)
        {
            var framed = GrpcFraming.ToFramedArray(request, _channel.Options.MaxSendMessageSize, _gzipRequests);
            content = new ByteArrayContent(framed);
            content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
        }
        else
        {
            _requestContent = new PipeRequestContent();
            content = _requestContent;
        }

        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_channel.Address, _method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = message.Headers;
        headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        headers.TryAddWithoutValidation("user-agent", GrpcProtocol.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (_gzipRequests)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, GrpcProtocol.Gzip);
        }

        if (_options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcProtocol.FormatTimeout(deadline.ToUniversalTime() - DateTime.UtcNow));
        }

        if (_options.Headers is { } md)
        {
            foreach (var e in md)
            {
                headers.TryAddWithoutValidation(e.Key, e.WireValue);
            }
        }

        _headersTask = ReceiveHeadersAsync(message);
    }

    private async Task<Metadata> ReceiveHeadersAsync(HttpRequestMessage request)
    {
        try
        {
            _callCts.Token.ThrowIfCancellationRequested();
            var response = await _channel.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _callCts.Token);
            lock (_lock)
            {
                _response = response;
            }

            if (_callCts.IsCancellationRequested)
            {
                response.Dispose();
                _callCts.Token.ThrowIfCancellationRequested();
            }

            var headers = ToMetadata(response.Headers);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new RpcException(
                    GrpcProtocol.FromHttpStatus(response.StatusCode),
                    $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}",
                    headers);
            }

            if (TryGetHeader(response.Headers, GrpcProtocol.StatusTrailer) is { } statusValue)
            {
                // Trailers-only response: the headers are the trailers.
                SetStatus(ParseStatus(statusValue, TryGetHeader(response.Headers, GrpcProtocol.MessageTrailer)), headers);
                return headers;
            }

            var contentType = response.Content.Headers.ContentType?.MediaType;
            if (!GrpcProtocol.IsGrpcContentType(contentType))
            {
                throw new RpcException(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: {contentType}");
            }

            _responseEncoding = TryGetHeader(response.Headers, GrpcProtocol.EncodingHeader);
            var stream = await response.Content.ReadAsStreamAsync(_callCts.Token);
            _body = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024));
            return headers;
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    /// <summary>Unary and client-streaming: the single response message, then the OK status.</summary>
    public async Task<TResponse> GetSingleResponseAsync()
    {
        await ResponseHeadersAsync;
        ThrowIfFinishedWithoutMessage();
        try
        {
            var message = await ReadNextAsync(_callCts.Token);
            if (message is null)
            {
                FinishFromTrailers();
                ThrowIfFinishedWithoutMessage();
                throw Fail(new RpcException(StatusCode.Internal, "Failed to deserialize response message: no message received before OK status."));
            }

            var extra = await ReadNextAsync(_callCts.Token);
            if (extra is not null)
            {
                throw Fail(new RpcException(StatusCode.Internal, "More than one response message received for a single-response method."));
            }

            FinishFromTrailers();
            var status = _status!.Value;
            if (status.Code != StatusCode.OK)
            {
                throw new RpcException(status, _trailers);
            }

            return message;
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    private void ThrowIfFinishedWithoutMessage()
    {
        if (_status is { } status)
        {
            throw status.Code == StatusCode.OK
                ? Fail(new RpcException(StatusCode.Internal, "Failed to deserialize response message: trailers-only OK response without a message."))
                : new RpcException(status, _trailers);
        }
    }

    /// <summary>Server-streaming and duplex: every response message, then the status (non-OK throws).</summary>
    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await ResponseHeadersAsync;
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(_callCts.Token, cancellationToken) : null;
        var token = linked?.Token ?? _callCts.Token;
        var batch = new Queue<TResponse>();
        var max = _channel.Options.MaxReceiveMessageSize ?? int.MaxValue;
        while (true)
        {
            if (_status is { } done && _body is null)
            {
                if (done.Code != StatusCode.OK)
                {
                    throw new RpcException(done, _trailers);
                }

                yield break;
            }

            bool more;
            try
            {
                more = _body is not null && await GrpcFraming.ReadBatchAsync(_body, _method.ResponseParser, max, _responseEncoding, batch, token);
                if (!more)
                {
                    FinishFromTrailers();
                }
            }
            catch (Exception ex)
            {
                if (cancellationToken.IsCancellationRequested && !_callCts.IsCancellationRequested)
                {
                    // Cancelling the enumeration cancels the call.
                    Cancel();
                }

                throw Fail(ex);
            }

            if (!more)
            {
                var status = _status!.Value;
                if (status.Code != StatusCode.OK)
                {
                    throw new RpcException(status, _trailers);
                }

                yield break;
            }

            // Dequeued, not iterated: a message the caller has taken is no longer referenced from here.
            while (batch.TryDequeue(out var message))
            {
                yield return message;
            }
        }
    }

    private async ValueTask<TResponse?> ReadNextAsync(CancellationToken token)
    {
        var body = _body;
        if (body is null)
        {
            return null;
        }

        var max = _channel.Options.MaxReceiveMessageSize ?? int.MaxValue;
        return await GrpcFraming.ReadMessageAsync(body, _method.ResponseParser, max, _responseEncoding, token);
    }

    private void FinishFromTrailers()
    {
        if (_status is not null)
        {
            return;
        }

        var response = _response!;
        var trailers = ToMetadata(response.TrailingHeaders);
        var statusValue = TryGetHeader(response.TrailingHeaders, GrpcProtocol.StatusTrailer);
        var status = statusValue is null
            ? new RpcStatus(StatusCode.Internal, "No grpc-status found on response.")
            : ParseStatus(statusValue, TryGetHeader(response.TrailingHeaders, GrpcProtocol.MessageTrailer));
        SetStatus(status, trailers);
    }

    public async Task WriteAsync(TRequest message, bool noCompress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var content = _requestContent ?? throw new InvalidOperationException("This call has no request stream.");
        ThrowIfCompleteForWrite();
        var writer = content.Writer;
        FlushResult result;
        try
        {
            GrpcFraming.WriteMessage(writer, message, _channel.Options.MaxSendMessageSize, _gzipRequests && !noCompress);
            using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(_callCts.Token, cancellationToken) : null;
            result = await writer.FlushAsync(linked?.Token ?? _callCts.Token);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
        {
            throw;
        }
        catch (Exception ex) when (ex is not RpcException && !_callCts.IsCancellationRequested)
        {
            // The server may have ended the call while this write was in flight (it refused a message, or answered
            // early): its status is in the trailers, which the response side reads. Recording this transport error
            // would replace that status and cancel the call, discarding the responses sent before it ended.
            throw WriteFailed(ex);
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }

        if (result.IsCompleted)
        {
            ThrowIfCompleteForWrite();
            if (_callCts.IsCancellationRequested)
            {
                // A deadline or cancellation closed the body before the task that records its status has run.
                throw Fail(new OperationCanceledException(_callCts.Token));
            }

            throw new InvalidOperationException("Can't write the message because the request stream was closed.");
        }
    }

    private void ThrowIfCompleteForWrite()
    {
        if (_status is { } status)
        {
            if (status.Code != StatusCode.OK)
            {
                throw new RpcException(status, _trailers);
            }

            throw new InvalidOperationException("Can't write the message because the call is complete.");
        }
    }

    public Task CompleteRequestAsync()
    {
        var content = _requestContent ?? throw new InvalidOperationException("This call has no request stream.");
        return content.Writer.CompleteAsync().AsTask();
    }

    public RpcStatus GetStatus() => _status ?? throw new InvalidOperationException("Unable to get the status because the call is not complete.");

    public Metadata GetTrailers() => _status is null
        ? throw new InvalidOperationException("Unable to get the trailers because the call is not complete.")
        : _trailers ?? new Metadata();

    private void SetStatus(RpcStatus status, Metadata trailers)
    {
        lock (_lock)
        {
            if (_status is not null)
            {
                return;
            }

            _status = status;
            _trailers = trailers;
        }

        _requestContent?.Abort();
        if (status.Code != StatusCode.OK)
        {
            Cancel();
        }
    }

    /// <summary>The exception for a failed write that leaves the call's status to the response: the status if known.</summary>
    private RpcException WriteFailed(Exception ex)
    {
        lock (_lock)
        {
            if (_status is { } status)
            {
                return new RpcException(status, _trailers);
            }
        }

        return FromTransportException(ex);
    }

    /// <summary>Records the final status for a failure and returns the exception to throw.</summary>
    private RpcException Fail(Exception ex)
    {
        RpcException rpc;
        if (_deadlineCts?.IsCancellationRequested == true && ex is not RpcException { StatusCode: StatusCode.ResourceExhausted })
        {
            rpc = new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        else if (ex is RpcException r)
        {
            rpc = r;
        }
        else if (_callCts.IsCancellationRequested || _options.CancellationToken.IsCancellationRequested)
        {
            rpc = new RpcException(StatusCode.Cancelled, "Call canceled by the client.", null, ex);
        }
        else
        {
            rpc = FromTransportException(ex);
        }

        lock (_lock)
        {
            if (_status is { } existing && existing.Code != StatusCode.OK && existing != rpc.Status)
            {
                rpc = new RpcException(existing, _trailers);
            }
        }

        SetStatus(rpc.Status, rpc.Trailers);
        return rpc;
    }

    private static RpcException FromTransportException(Exception ex)
    {
        var protocol = ex as HttpProtocolException ?? ex.InnerException as HttpProtocolException ?? ex.InnerException?.InnerException as HttpProtocolException;
        if (protocol is not null)
        {
            // HTTP/2 error codes -> gRPC status (PROTOCOL-HTTP2.md "Errors").
            var code = protocol.ErrorCode switch
            {
                0x7 => StatusCode.Unavailable,
                0x8 => StatusCode.Cancelled,
                0xb => StatusCode.ResourceExhausted,
                0xc => StatusCode.PermissionDenied,
                _ => StatusCode.Internal,
            };
            return new RpcException(code, $"HTTP/2 stream error {protocol.ErrorCode}: {protocol.Message}", null, ex);
        }

        return ex switch
        {
            HttpRequestException => new RpcException(StatusCode.Unavailable, $"Error starting gRPC call. {ex.GetType().Name}: {ex.Message}", null, ex),
            IOException => new RpcException(StatusCode.Unavailable, $"Error reading the response. {ex.GetType().Name}: {ex.Message}", null, ex),
            OperationCanceledException => new RpcException(StatusCode.Cancelled, "Call canceled.", null, ex),
            _ => new RpcException(StatusCode.Unknown, $"{ex.GetType().Name}: {ex.Message}", null, ex),
        };
    }

    private static RpcStatus ParseStatus(string value, string? message)
    {
        if (!GrpcProtocol.TryParseStatus(value, out var code))
        {
            return new RpcStatus(StatusCode.Unknown, $"Invalid grpc-status '{value}'.");
        }

        return new RpcStatus(code, GrpcProtocol.PercentDecode(message));
    }

    private static string? TryGetHeader(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static Metadata ToMetadata(HttpHeaders headers)
    {
        var md = new Metadata();
        foreach (var (key, values) in headers.NonValidated)
        {
            if (GrpcProtocol.IsReservedHeader(key) || key.Equals("date", StringComparison.OrdinalIgnoreCase) || key.Equals("server", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var v in values)
            {
                try
                {
                    md.AddFromWire(key, v);
                }
                catch (FormatException)
                {
                    // An undecodable -bin value is dropped.
                }
            }
        }

        return md;
    }

    public void Cancel()
    {
        try
        {
            _callCts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed.
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_status is null)
            {
                _status = new RpcStatus(StatusCode.Cancelled, "Call disposed.");
                _trailers = new Metadata();
            }
        }

        Cancel();
        _requestContent?.Abort();
        _response?.Dispose();
        _deadlineCts?.Dispose();
    }
}
