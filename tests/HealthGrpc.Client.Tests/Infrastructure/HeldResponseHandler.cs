namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>
/// Lets a test decide when the client sees what the server answered: every chunk of a response body, once read from
/// the network, is handed to the client only after <c>hold()</c> completes. It orders the client's own writes
/// against the server's answers without sleeping (e.g. "the whole batch window was written before the first ack").
/// </summary>
internal sealed class HeldResponseHandler(Func<Task> hold) : DelegatingHandler(new SocketsHttpHandler())
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var inner = response.Content;
        var held = new StreamContent(new HeldStream(await inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), hold));
        foreach (var header in inner.Headers)
        {
            held.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        // Trailers (grpc-status) stay on the response message itself, so the client still reads the call's status.
        response.Content = held;
        return response;
    }

    private sealed class HeldStream(Stream inner, Func<Task> hold) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read > 0)
            {
                await hold().WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

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
}
