using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace HealthGrpc.Interop.Tests.Infrastructure;

/// <summary>
/// A read-only pass-through stream that parses the gRPC length-prefixed framing of the bytes flowing through it and
/// records each message's compressed flag, in order. Used on both sides to check the interop compression cases on the
/// wire (HealthGrpc.Rpc, like grpc-js, hands services and callers only decoded messages).
/// </summary>
internal sealed class GrpcFrameFlagStream(Stream inner) : Stream
{
    private readonly byte[] _header = new byte[5];
    private readonly ConcurrentQueue<bool> _flags = new();
    private int _headerBytes;
    private long _skip;

    /// <summary>Compressed flags of the messages seen so far, oldest first.</summary>
    public ConcurrentQueue<bool> Flags => _flags;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Observe(buffer[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        Observe(buffer.Span[..n]);
        return n;
    }

    private void Observe(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_skip > 0)
            {
                var take = (int)Math.Min(_skip, data.Length);
                _skip -= take;
                data = data[take..];
                continue;
            }

            _header[_headerBytes++] = data[0];
            data = data[1..];
            if (_headerBytes == _header.Length)
            {
                _headerBytes = 0;
                _flags.Enqueue((_header[0] & 1) != 0);
                _skip = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(1));
            }
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
