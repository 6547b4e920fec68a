using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using Google.Protobuf;

namespace HealthGrpc.Rpc.Internal;

/// <summary>
/// Length-prefixed message framing: 1 byte compressed flag + 4 bytes big-endian length + payload.
/// Reads parse straight from the pipe's <see cref="ReadOnlySequence{T}"/>; writes serialize straight into the pipe.
/// </summary>
internal static class GrpcFraming
{
    public const int HeaderSize = 5;

    /// <summary>
    /// Tries to take one whole frame from the front of <paramref name="buffer"/>. On success, <paramref name="buffer"/>
    /// is advanced past the frame and <paramref name="payload"/> slices the message bytes.
    /// </summary>
    /// <exception cref="RpcException">RESOURCE_EXHAUSTED when the length prefix exceeds <paramref name="maxMessageSize"/>; INTERNAL for a bad flag.</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out bool compressed, out ReadOnlySequence<byte> payload)
    {
        compressed = false;
        payload = default;
        if (!TryReadHeader(buffer, out var flag, out var length))
        {
            return false;
        }

        if (flag > 1)
        {
            throw new RpcException(StatusCode.Internal, $"Invalid gRPC message compressed-flag {flag}.");
        }

        if (length > (uint)maxMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {maxMessageSize}).");
        }

        if (buffer.Length - HeaderSize < length)
        {
            return false;
        }

        compressed = flag == 1;
        payload = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>The wire size (prefix included) of the frame at the front of <paramref name="buffer"/>, once its prefix is there.</summary>
    public static int? TryPeekFrameSize(ReadOnlySequence<byte> buffer) =>
        TryReadHeader(buffer, out _, out var length) ? (int)Math.Min(length + (long)HeaderSize, int.MaxValue) : null;

    private static bool TryReadHeader(ReadOnlySequence<byte> buffer, out byte flag, out uint length)
    {
        if (buffer.Length < HeaderSize)
        {
            flag = 0;
            length = 0;
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        flag = header[0];
        length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        return true;
    }

    /// <summary>Reads the next message, or returns null at a clean end of stream.</summary>
    /// <exception cref="RpcException">INTERNAL for a truncated frame or bad compression; RESOURCE_EXHAUSTED over the size limit.</exception>
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageSize, string? encoding, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            T message;
            try
            {
                if (TryReadFrame(ref buffer, maxMessageSize, out var compressed, out var payload))
                {
                    message = ParsePayload(parser, payload, compressed, encoding, maxMessageSize);
                }
                else if (result.IsCompleted || result.IsCanceled)
                {
                    if (buffer.Length > 0)
                    {
                        throw new RpcException(StatusCode.Internal, $"Incomplete gRPC message at end of stream ({buffer.Length} bytes of a frame).");
                    }

                    reader.AdvanceTo(buffer.End);
                    return null;
                }
                else
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }
            }
            catch
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                throw;
            }

            reader.AdvanceTo(buffer.Start);
            return message;
        }
    }

    /// <summary>
    /// Parsing ahead stops once this many payload bytes are parsed. It amortizes pipe calls over small messages (40 of
    /// 100 bytes per read), but a parsed message waits on the heap at several times its wire size until the handler
    /// takes it: parsing every buffered message of 1,000 streams with full flow-control windows would hold hundreds of
    /// megabytes, while unparsed bytes stay in Kestrel's bounded windows.
    /// </summary>
    public const int ParseAheadBytes = 4 * 1024;

    /// <summary>
    /// Reads the complete messages currently buffered (at least one, more while under <see cref="ParseAheadBytes"/>)
    /// into <paramref name="into"/> with a single ReadAsync/AdvanceTo, or returns false at a clean end of stream.
    /// Streaming reads use this to amortize pipe costs.
    /// </summary>
    public static async ValueTask<bool> ReadBatchAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageSize, string? encoding, Queue<T> into, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            long parsed = 0;
            try
            {
                while (parsed < ParseAheadBytes && TryReadFrame(ref buffer, maxMessageSize, out var compressed, out var payload))
                {
                    into.Enqueue(ParsePayload(parser, payload, compressed, encoding, maxMessageSize));
                    parsed += payload.Length;
                }
            }
            catch
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                throw;
            }

            if (into.Count > 0)
            {
                // Stopped by the parse-ahead limit, the rest may hold whole frames: mark it unexamined, or the next read
                // would wait for more bytes to arrive before returning what is already here.
                reader.AdvanceTo(buffer.Start, parsed >= ParseAheadBytes ? buffer.Start : result.Buffer.End);
                return true;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                if (buffer.Length > 0)
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    throw new RpcException(StatusCode.Internal, $"Incomplete gRPC message at end of stream ({buffer.Length} bytes of a frame).");
                }

                reader.AdvanceTo(buffer.End);
                return false;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public static T ParsePayload<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload, bool compressed, string? encoding, int maxMessageSize)
        where T : IMessage<T>
    {
        if (!compressed)
        {
            return Parse(parser, payload);
        }

        if (encoding is null || string.Equals(encoding, GrpcProtocol.Identity, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(StatusCode.Internal, "Received a compressed message but grpc-encoding is identity (or absent).");
        }

        if (!string.Equals(encoding, GrpcProtocol.Gzip, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{encoding}'.");
        }

        var decompressed = Gunzip(payload, maxMessageSize);
        return Parse(parser, new ReadOnlySequence<byte>(decompressed));
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(StatusCode.Internal, "Failed to deserialize message: " + ex.Message, null, ex);
        }
    }

    private static byte[] Gunzip(ReadOnlySequence<byte> payload, int maxMessageSize)
    {
        try
        {
            using var input = new MemoryStream(payload.ToArray(), writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                int n;
                while ((n = gzip.Read(chunk, 0, chunk.Length)) > 0)
                {
                    if (output.Length + n > maxMessageSize)
                    {
                        throw new RpcException(StatusCode.ResourceExhausted, $"Decompressed message larger than max ({maxMessageSize}).");
                    }

                    output.Write(chunk, 0, n);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }

            return output.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new RpcException(StatusCode.Internal, "Failed to decompress gzip message: " + ex.Message, null, ex);
        }
    }

    /// <summary>Writes one framed message into <paramref name="writer"/> (no flush).</summary>
    /// <exception cref="RpcException">RESOURCE_EXHAUSTED if the serialized message exceeds <paramref name="maxMessageSize"/>.</exception>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message, int? maxMessageSize, bool gzip)
    {
        var size = message.CalculateSize();
        if (gzip)
        {
            var compressed = Gzip(message, size);
            CheckSize(compressed.Length, maxMessageSize);
            var span = writer.GetSpan(HeaderSize + compressed.Length);
            span[0] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)compressed.Length);
            compressed.CopyTo(span[HeaderSize..]);
            writer.Advance(HeaderSize + compressed.Length);
            return;
        }

        CheckSize(size, maxMessageSize);
        var header = writer.GetSpan(HeaderSize);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
        writer.Advance(HeaderSize);
        if (size > 0)
        {
            message.WriteTo(writer);
        }
    }

    /// <summary>Serializes a framed message into a new array (used for single-message request bodies).</summary>
    public static byte[] ToFramedArray(IMessage message, int? maxMessageSize, bool gzip)
    {
        var writer = new ArrayBufferWriter<byte>(HeaderSize + message.CalculateSize());
        WriteMessage(writer, message, maxMessageSize, gzip);
        return writer.WrittenSpan.ToArray();
    }

    private static void CheckSize(int size, int? max)
    {
        if (max is { } m && size > m)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message larger than max ({size} vs. {m}).");
        }
    }

    private static byte[] Gzip(IMessage message, int size)
    {
        var raw = new byte[size];
        message.WriteTo(raw.AsSpan());
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(raw, 0, raw.Length);
        }

        return output.ToArray();
    }
}
