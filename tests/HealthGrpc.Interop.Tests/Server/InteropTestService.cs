using Google.Protobuf;
using HealthGrpc.Interop.Tests.Testing;
using HealthGrpc.Rpc;

namespace HealthGrpc.Interop.Tests.Server;

/// <summary>
/// grpc.testing.TestService on HealthGrpc.Rpc, following the server features of grpc/grpc
/// doc/interop-test-descriptions.md (EmptyCall, UnaryCall, CompressedRequest/Response, Echo Status, Echo Metadata,
/// interval_us, StreamingInput/Output, FullDuplex, HalfDuplex; UnimplementedCall answers UNIMPLEMENTED).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "HealthGrpc.Rpc binds public instance methods by name.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Style", "IDE0060", Justification = "Signatures are fixed by the binder (request, context).")]
public sealed class InteropTestService
{
    public const string EchoInitialKey = "x-grpc-test-echo-initial";
    public const string EchoTrailingKey = "x-grpc-test-echo-trailing-bin";

    public async Task<Empty> EmptyCall(Empty request, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        return new Empty();
    }

    public async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        CheckExpectCompressed(request.ExpectCompressed, context);
        if (request.ResponseCompressed is { } compressed)
        {
            context.ResponseCompression = compressed.Value ? "gzip" : "identity";
        }

        await EchoMetadataAsync(context);
        ThrowIfEchoStatus(request.ResponseStatus);
        CheckResponseType(request.ResponseType);
        return new SimpleResponse { Payload = Zeros(request.ResponseSize) };
    }

    public Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context)
    {
        context.HttpContext.Response.Headers.CacheControl = "max-age=60";
        var now = ByteString.CopyFromUtf8(DateTime.UtcNow.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Task.FromResult(new SimpleResponse { Payload = new Payload { Body = now } });
    }

    public async Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        // The call's encoding is gzip when any response asks for compression; each message then opts out with
        // WriteOptions.NoCompress (see WriteResponsesAsync).
        if (request.ResponseParameters.Any(p => p.Compressed?.Value == true))
        {
            context.ResponseCompression = "gzip";
        }

        await EchoMetadataAsync(context);
        CheckResponseType(request.ResponseType);
        await WriteResponsesAsync(request, responses, context);
        ThrowIfEchoStatus(request.ResponseStatus);
    }

    public async Task<StreamingInputCallResponse> StreamingInputCall(IAsyncEnumerable<StreamingInputCallRequest> requests, ServerCallContext context)
    {
        var total = 0;
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            CheckExpectCompressed(request.ExpectCompressed, context);
            total += request.Payload?.Body.Length ?? 0;
        }

        return new StreamingInputCallResponse { AggregatedPayloadSize = total };
    }

    public async Task FullDuplexCall(IAsyncEnumerable<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            ThrowIfEchoStatus(request.ResponseStatus);
            CheckResponseType(request.ResponseType);
            await WriteResponsesAsync(request, responses, context);
        }
    }

    public async Task HalfDuplexCall(IAsyncEnumerable<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        var buffered = new List<StreamingOutputCallRequest>();
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            buffered.Add(request);
        }

        foreach (var request in buffered)
        {
            ThrowIfEchoStatus(request.ResponseStatus);
            await WriteResponsesAsync(request, responses, context);
        }
    }

    public Task<Empty> UnimplementedCall(Empty request, ServerCallContext context) =>
        throw new RpcException(StatusCode.Unimplemented, "grpc.testing.TestService/UnimplementedCall is deliberately not implemented.");

    private static async Task WriteResponsesAsync(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        foreach (var p in request.ResponseParameters)
        {
            if (p.IntervalUs > 0)
            {
                await Task.Delay(TimeSpan.FromMicroseconds(p.IntervalUs), context.CancellationToken);
            }

            // Per-message compression: server_compressed_streaming expects message 1 compressed and message 2 not.
            context.WriteOptions = context.WriteOptions with { NoCompress = p.Compressed?.Value != true };
            await responses.WriteAsync(new StreamingOutputCallResponse { Payload = Zeros(p.Size) }, context.CancellationToken);
        }
    }

    /// <summary>Echo Metadata: initial value back as a response header, trailing -bin value back as a trailer.</summary>
    private static async Task EchoMetadataAsync(ServerCallContext context)
    {
        if (context.RequestHeaders.GetBytes(EchoTrailingKey) is { } trailing)
        {
            context.ResponseTrailers.Add(EchoTrailingKey, trailing);
        }

        if (context.RequestHeaders.GetValue(EchoInitialKey) is { } initial)
        {
            await context.WriteResponseHeadersAsync(new Metadata { { EchoInitialKey, initial } });
        }
    }

    /// <summary>CompressedRequest: the message's compressed flag (seen on the wire) must match expect_compressed.</summary>
    private static void CheckExpectCompressed(BoolValue? expect, ServerCallContext context)
    {
        var wasCompressed = RequestFlagRecorder.NextMessageCompressed(context.HttpContext);
        if (expect is null)
        {
            return;
        }

        if (expect.Value != wasCompressed)
        {
            throw new RpcException(
                StatusCode.InvalidArgument,
                expect.Value ? "Expected a compressed request message, got an uncompressed one." : "Expected an uncompressed request message, got a compressed one.");
        }
    }

    private static void ThrowIfEchoStatus(EchoStatus? status)
    {
        if (status is { Code: not 0 })
        {
            throw new RpcException((StatusCode)status.Code, status.Message);
        }
    }

    private static void CheckResponseType(PayloadType type)
    {
        if (type != PayloadType.Compressable)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"Unsupported response_type {type}.");
        }
    }

    private static Payload Zeros(int size) => new() { Type = PayloadType.Compressable, Body = ByteString.CopyFrom(new byte[size]) };
}
