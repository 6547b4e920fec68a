using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// The writing side of one Subscribe call: one message at a time, each awaited, so the subscription reads the store
/// only as fast as the subscriber takes messages. A write the subscriber has not taken after the write timeout marks it
/// too slow: once that write completes the call ends with RESOURCE_EXHAUSTED (the status follows the messages already
/// in flight, so the client knows its last token). A write still pending after the abandon timeout as well means
/// nobody reads the stream: the call ends then and the transport resets the stream.
/// </summary>
internal sealed class SubscriptionStream(
    Func<SubscribeResponse, Task> write,
    FeedSubscriber subscriber,
    ChangeFeedOptions options,
    TimeProvider time,
    CancellationToken callEnded)
{
    private long _lastWrite = time.GetTimestamp();

    /// <summary>Time since the last message was written.</summary>
    public TimeSpan Idle => time.GetElapsedTime(_lastWrite);

    public async Task WriteAsync(SubscribeResponse message)
    {
        var pending = write(message);
        if (!pending.IsCompleted && !await CompletesWithinAsync(pending, options.SubscribeWriteTimeout).ConfigureAwait(false))
        {
            subscriber.MarkTooSlow();
            if (await CompletesWithinAsync(pending, options.SubscribeAbandonTimeout).ConfigureAwait(false))
            {
                subscriber.CountWritten();
            }
            else
            {
                // The write faults when the stream is reset; observed here so it is not an unobserved task exception.
                _ = pending.ContinueWith(static task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }

            throw new SubscriberTooSlowException(options.SubscribeWriteTimeout);
        }

        await pending.ConfigureAwait(false);
        subscriber.CountWritten();
        _lastWrite = time.GetTimestamp();
    }

    private async Task<bool> CompletesWithinAsync(Task pending, TimeSpan timeout)
    {
        try
        {
            await pending.WaitAsync(timeout, time, callEnded).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
