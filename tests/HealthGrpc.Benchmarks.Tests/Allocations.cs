namespace HealthGrpc.Benchmarks.Tests;

/// <summary>Managed bytes allocated per call of an operation on the current thread (synchronous operations only).</summary>
internal static class Allocations
{
    /// <summary>
    /// Runs <paramref name="operation"/> <paramref name="warmup"/> times (JIT, tiering, pools, grown buffers), then
    /// <paramref name="iterations"/> times between two reads of <see cref="GC.GetAllocatedBytesForCurrentThread"/>.
    /// </summary>
    public static double PerCall<T>(Func<T> operation, int warmup, int iterations)
    {
        // The result is kept in a local of type T: passing it to GC.KeepAlive(object) in the loop would box value types
        // (24 B per call) and show up as the operation's allocation.
        var last = default(T);
        for (var i = 0; i < warmup; i++)
        {
            last = operation();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < iterations; i++)
        {
            last = operation();
        }

        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(last);
        return (after - before) / (double)iterations;
    }

    /// <summary>Prints the measured figure against its budget (visible with console verbosity normal and in the TRX report).</summary>
    public static void Report(ITestOutputHelper output, string what, double measured, double budget, string unit) =>
        output.WriteLine($"{what}: measured {measured:N1} {unit}, budget {budget:N1} {unit}");
}
