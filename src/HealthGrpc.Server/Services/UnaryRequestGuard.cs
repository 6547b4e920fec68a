using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using HealthGrpc.Server.Ingest;

namespace HealthGrpc.Server.Services;

/// <summary>
/// grpc-dotnet parses a unary request before any interceptor runs and answers a parse failure UNKNOWN ("Exception was
/// thrown by handler"); streaming reads fail inside the handler, where <see cref="ErrorMappingInterceptor"/> maps them.
/// This middleware looks at a unary call's one message in the request pipe (nothing consumed, so grpc-dotnet then reads
/// the same bytes), and answers bytes that are not the method's request type INVALID_ARGUMENT with a PROTOCOL_VIOLATION
/// detail. The message is parsed twice: unary calls are the rare path (devices stream), so that is cheap.
/// <para>
/// A grpc-web-text body cannot be looked at that way: grpc-dotnet's base64 reader fails ("Unexpected end of data") when
/// bytes it already decoded are read again after the body ended, so a look that consumes nothing turned every such call
/// into UNKNOWN. Those bodies (one message, bounded by the message limit) are read once, decoded, and handed on from
/// memory; <see cref="MarkBase64Body"/> recognises them before the gRPC-Web middleware rewrites their content type.
/// </para>
/// </summary>
internal sealed class UnaryRequestGuard(RequestDelegate next, IngestLimits limits)
{
    private static readonly object Base64BodyKey = new();

    /// <summary>Middleware before UseGrpcWeb: remembers that the body is base64 (grpc-web-text) for the guard.</summary>
    public static Task MarkBase64Body(HttpContext context, RequestDelegate next)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc-web-text", StringComparison.OrdinalIgnoreCase) == true)
        {
            context.Items[Base64BodyKey] = true;
        }

        return next(context);
    }

    private static readonly Dictionary<string, MessageDescriptor> RequestTypes = Contracts.V1.SyncService.Descriptor.Methods
        .Where(method => !method.IsClientStreaming)
        .ToDictionary(method => $"/{method.Service.FullName}/{method.Name}", method => method.InputType, StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        if (RequestTypes.TryGetValue(context.Request.Path.Value ?? string.Empty, out var requestType)
            && context.Items.ContainsKey(Base64BodyKey)
            && !await BufferDecodedBodyAsync(context).ConfigureAwait(false))
        {
            await Auth.GrpcTrailersOnly.WriteAsync(context.Response, StatusCode.ResourceExhausted,
                $"The request message is larger than Ingest:MaxMessageBytes ({limits.MaxMessageBytes} bytes).").ConfigureAwait(false);
            return;
        }

        if (requestType is not null && await FirstMessageErrorAsync(context, requestType).ConfigureAwait(false) is { } error)
        {
            // The same status the interceptor gives a malformed streamed message (StatusMapper), written before grpc-dotnet runs.
            var status = StatusMapper.MalformedRequest($"the {requestType.FullName}", error);
            context.Response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray()).TrimEnd('=');
            await Auth.GrpcTrailersOnly.WriteAsync(context.Response, StatusCode.InvalidArgument, status.Message).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the whole decoded body (false, read no further, once it exceeds one message of the limit) and replaces the
    /// request's body reader with one over those bytes.
    /// </summary>
    private async Task<bool> BufferDecodedBodyAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        var bound = (long)limits.MaxMessageBytes + RequestMessagePeek.PrefixLength;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            if (result.Buffer.Length > bound)
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                return false;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var body = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                context.Features.Set<Microsoft.AspNetCore.Http.Features.IRequestBodyPipeFeature>(new DecodedBody(PipeReader.Create(new ReadOnlySequence<byte>(body))));
                return true;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>Why the first message does not parse, or null when it does (or is incomplete/too large: grpc-dotnet reports those).</summary>
    private async Task<string?> FirstMessageErrorAsync(HttpContext context, MessageDescriptor requestType)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (RequestMessagePeek.TryReadPrefix(buffer, out var compressed, out var length))
            {
                if (compressed || length > limits.MaxMessageBytes)
                {
                    reader.AdvanceTo(buffer.Start);
                    return null; // compressed or over the limit: grpc-dotnet decides
                }

                if (buffer.Length >= RequestMessagePeek.PrefixLength + length)
                {
                    var error = TryParse(requestType, buffer.Slice(RequestMessagePeek.PrefixLength, length));
                    reader.AdvanceTo(buffer.Start);
                    return error;
                }
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                return null;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static string? TryParse(MessageDescriptor requestType, ReadOnlySequence<byte> payload)
    {
        try
        {
            requestType.Parser.ParseFrom(payload);
            return null;
        }
        catch (InvalidProtocolBufferException malformed)
        {
            return malformed.Message;
        }
    }

    private sealed class DecodedBody(PipeReader reader) : Microsoft.AspNetCore.Http.Features.IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }
}
