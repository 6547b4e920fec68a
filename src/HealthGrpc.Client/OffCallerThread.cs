using System.Runtime.CompilerServices;

namespace HealthGrpc.Client;

/// <summary>
/// <c>await OffCallerThread.Hop()</c> continues on a thread-pool thread with no synchronization context. Free when already
/// there (the engine's own threads); from an app's UI thread it queues the rest of the method to the pool. Unlike
/// <c>Task.Yield</c>, it never posts back to the caller's <see cref="SynchronizationContext"/>.
/// </summary>
internal static class OffCallerThread
{
    public static PoolAwaitable Hop() => default;

    internal readonly struct PoolAwaitable : ICriticalNotifyCompletion
    {
        public bool IsCompleted =>
            Thread.CurrentThread.IsThreadPoolThread && SynchronizationContext.Current is null && TaskScheduler.Current == TaskScheduler.Default;

        public PoolAwaitable GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) => ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
    }
}
