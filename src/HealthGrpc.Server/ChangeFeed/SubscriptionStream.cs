using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// The writing side of one Subscribe call: one message at a time, each awaited (so the subscription reads the store
/// only as fast as the subscriber takes messages), each bounded by the write timeout.
/// </summary>
internal sealed class SubscriptionStream(
    Func<SubscribeResponse, CancellationToken, Task> write,
    FeedSubscriber subscriber,
    TimeSpan writeTimeout,
    TimeProvider time,
    CancellationToken callEnded) : IDisposable
{
    // One timer source reused for every write (reset after each): no allocation per message.
    private readonly CancellationTokenSource _writeTimer = new();
    private long _lastWrite = time.GetTimestamp();

    /// <summary>Time since the last message was written.</summary>
    public TimeSpan Idle => time.GetElapsedTime(_lastWrite);

    public async Task WriteAsync(SubscribeResponse message)
    {
        _writeTimer.CancelAfter(writeTimeout);
        try
        {
            await write(message, _writeTimer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_writeTimer.IsCancellationRequested && !callEnded.IsCancellationRequested)
        {
            throw new SubscriberTooSlowException(writeTimeout);
        }

        if (!_writeTimer.TryReset())
        {
            // The timer fired as the write completed: the subscriber was too slow all the same.
            throw new SubscriberTooSlowException(writeTimeout);
        }

        subscriber.CountWritten();
        _lastWrite = time.GetTimestamp();
    }

    public void Dispose() => _writeTimer.Dispose();
}
