using System.Buffers;
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
/// </summary>
internal sealed class UnaryRequestGuard(RequestDelegate next, IngestLimits limits)
{
    private static readonly Dictionary<string, MessageDescriptor> RequestTypes = Contracts.V1.SyncService.Descriptor.Methods
        .Where(method => !method.IsClientStreaming)
        .ToDictionary(method => $"/{method.Service.FullName}/{method.Name}", method => method.InputType, StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        if (RequestTypes.TryGetValue(context.Request.Path.Value ?? string.Empty, out var requestType)
            && await FirstMessageErrorAsync(context, requestType).ConfigureAwait(false) is { } error)
        {
            // The same status the interceptor gives a malformed streamed message (StatusMapper), written before grpc-dotnet runs.
            var status = StatusMapper.MalformedRequest($"the {requestType.FullName}", error);
            context.Response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray()).TrimEnd('=');
            await Auth.GrpcTrailersOnly.WriteAsync(context.Response, StatusCode.InvalidArgument, status.Message).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
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
}
