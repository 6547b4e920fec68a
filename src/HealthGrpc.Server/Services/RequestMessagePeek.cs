using System.Buffers;
using System.Buffers.Binary;
using Grpc.Core;

namespace HealthGrpc.Server.Services;

/// <summary>
/// Learns the wire size of a call's next request message from its 5-byte gRPC length prefix, without consuming
/// anything, so a stream can reserve its share of the ingest budget before the message is read and parsed.
/// Relies on grpc-dotnet reading the request body pipe one message at a time and keeping nothing buffered between
/// reads (pinned by <c>RequestMessagePeekTests</c>): whatever the pipe holds after a read belongs to the next message.
/// </summary>
internal static class RequestMessagePeek
{
    private const int PrefixLength = 5;

    /// <summary>The next message's length in bytes, null when the client completed its side, 0 when the body ended mid-prefix.</summary>
    public static async ValueTask<int?> NextMessageSizeAsync(ServerCallContext context, CancellationToken ct)
    {
        var reader = context.GetHttpContext().Request.BodyReader;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, ct);
        while (true)
        {
            var result = await reader.ReadAsync(linked.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= PrefixLength)
            {
                Span<byte> prefix = stackalloc byte[PrefixLength];
                buffer.Slice(0, PrefixLength).CopyTo(prefix);
                reader.AdvanceTo(buffer.Start); // nothing consumed or examined: grpc-dotnet's next read sees the same bytes
                return (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]), int.MaxValue);
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                return buffer.Length == 0 ? null : 0; // a truncated prefix: the next read reports it
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
