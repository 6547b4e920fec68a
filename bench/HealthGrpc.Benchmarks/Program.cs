using BenchmarkDotNet.Running;

namespace HealthGrpc.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project bench/HealthGrpc.Benchmarks -- --filter '*'</c>
/// (any BenchmarkDotNet command-line option works, e.g. <c>--job short</c> or <c>--filter '*Framing*'</c>).
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
