using System.Buffers;
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
    /// <summary>A gRPC message prefix: a compressed flag byte and a big-endian 32-bit length.</summary>
    public const int PrefixLength = 5;

    /// <summary>The next message's length in bytes, null when the client completed its side, 0 when the body ended mid-prefix.</summary>
    public static async ValueTask<int?> NextMessageSizeAsync(ServerCallContext context, CancellationToken ct)
    {
        var reader = context.GetHttpContext().Request.BodyReader;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, ct);
        while (true)
        {
            var result = await reader.ReadAsync(linked.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryReadPrefix(buffer, out _, out var length))
            {
                reader.AdvanceTo(buffer.Start); // nothing consumed or examined: grpc-dotnet's next read sees the same bytes
                return (int)Math.Min(length, int.MaxValue);
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                return buffer.Length == 0 ? null : 0; // a truncated prefix: the next read reports it
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads the prefix at the start of <paramref name="buffer"/>; false when fewer than 5 bytes are there.</summary>
    public static bool TryReadPrefix(in ReadOnlySequence<byte> buffer, out bool compressed, out uint length)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryRead(out var flag) && reader.TryReadBigEndian(out int value))
        {
            (compressed, length) = (flag != 0, unchecked((uint)value));
            return true;
        }

        (compressed, length) = (false, 0);
        return false;
    }
}
