namespace HealthGrpc.Interop.Tests.Infrastructure;

/// <summary>Every await in these tests goes through <see cref="WithTimeout(Task, TimeSpan?)"/>: a hang fails, never stalls.</summary>
internal static class Timeouts
{
    /// <summary>Upper bound for one awaited step (a call, a read, a process start).</summary>
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(60);

    /// <summary>Upper bound for a whole external process run (one vendor case, buf curl, create-user).</summary>
    public static readonly TimeSpan Process = TimeSpan.FromSeconds(90);

    public static Task WithTimeout(this Task task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Step);

    public static Task<T> WithTimeout<T>(this Task<T> task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Step);

    public static Task<T> WithTimeout<T>(this ValueTask<T> task, TimeSpan? timeout = null) => task.AsTask().WaitAsync(timeout ?? Step);
}
