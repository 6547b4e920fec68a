using System.Collections.Concurrent;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>
/// A single-threaded <see cref="SynchronizationContext"/> like a MAUI/WPF UI thread: one dedicated thread runs every
/// posted continuation in order. Work started with <see cref="RunAsync{T}"/> begins on it, and any await that captures the
/// context comes back to it.
/// </summary>
internal sealed class UiThread : IDisposable
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = new();
    private readonly Thread _thread;

    public UiThread()
    {
        Context = new UiContext(this);
        _thread = new Thread(Pump) { IsBackground = true, Name = "test-ui-thread" };
        _thread.Start();
    }

    public int ThreadId => _thread.ManagedThreadId;

    public SynchronizationContext Context { get; }

    public Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add((_ => Start(work, done), null));
        return done.Task;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(10));
        _queue.Dispose();
    }

    private static async void Start<T>(Func<Task<T>> work, TaskCompletionSource<T> done)
    {
        try
        {
            done.SetResult(await work());
        }
#pragma warning disable CA1031 // handed to the test
        catch (Exception e)
        {
            done.SetException(e);
        }
#pragma warning restore CA1031
    }

    private void Pump()
    {
        SynchronizationContext.SetSynchronizationContext(Context);
        foreach (var (callback, state) in _queue.GetConsumingEnumerable())
        {
            callback(state);
        }
    }

    private sealed class UiContext(UiThread owner) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => owner._queue.Add((d, state));

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("Send would block the UI thread.");

        public override SynchronizationContext CreateCopy() => this;
    }
}
