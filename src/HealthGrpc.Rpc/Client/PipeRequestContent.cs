using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using HealthGrpc.Rpc.Internal;

namespace HealthGrpc.Rpc.Client;

/// <summary>
/// Streaming request body: writers serialize framed messages into a Pipe; the HTTP/2 send loop copies whatever has
/// accumulated per read and flushes once per batch (no flush-per-message; back-pressure from the pipe thresholds).
/// </summary>
internal sealed class PipeRequestContent : HttpContent
{
    private readonly Pipe _pipe = new(new PipeOptions(
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false));

    private int _started;

    public PipeRequestContent()
    {
        Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
    }

    public PipeWriter Writer => _pipe.Writer;

    /// <summary>Releases blocked writers when the body will never be sent (call failed before sending).</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _pipe.Reader.Complete();
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The streaming request body can only be sent once.");
        }

        var reader = _pipe.Reader;
        try
        {
            // SocketsHttpHandler holds HTTP/2 request HEADERS until the first body flush; send them now so a duplex
            // server sees the call (and can answer headers) before the client writes anything.
            await stream.FlushAsync(cancellationToken);
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await stream.WriteAsync(segment, cancellationToken);
                }

                reader.AdvanceTo(buffer.End);
                var completed = result.IsCompleted || result.IsCanceled;

                // Drain whatever else arrived meanwhile before paying for one flush.
                while (!completed && reader.TryRead(out result))
                {
                    foreach (var segment in result.Buffer)
                    {
                        await stream.WriteAsync(segment, cancellationToken);
                    }

                    reader.AdvanceTo(result.Buffer.End);
                    completed = result.IsCompleted || result.IsCanceled;
                    if (result.Buffer.IsEmpty)
                    {
                        break;
                    }
                }

                await stream.FlushAsync(cancellationToken);
                if (completed)
                {
                    break;
                }
            }

            await reader.CompleteAsync();
        }
        catch (Exception ex)
        {
            await reader.CompleteAsync(ex);
            throw;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
