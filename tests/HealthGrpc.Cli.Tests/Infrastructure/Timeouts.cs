namespace HealthGrpc.Cli.Tests.Infrastructure;

/// <summary>Every await in these tests is bounded: a hang fails the test instead of stalling CI.</summary>
internal static class Timeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(60);

    public static Task<T> Bounded<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task Bounded(this Task task) => task.WaitAsync(Default);
}
