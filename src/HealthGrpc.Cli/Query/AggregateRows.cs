using HealthGrpc.Cli.Shared;
using HealthGrpc.Contracts.V1;
using NodaTime;

namespace HealthGrpc.Cli.Query;

/// <summary>One row per aggregate bucket; statistics that were not asked for stay empty.</summary>
internal static class AggregateRows
{
    public static readonly IReadOnlyList<string> Columns = ["start", "end", "count", "sum", "avg", "min", "max", "latest", "unit", "sourceKind"];

    private static readonly Dictionary<string, AggregateFunction> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sum"] = AggregateFunction.Sum,
        ["avg"] = AggregateFunction.Avg,
        ["min"] = AggregateFunction.Min,
        ["max"] = AggregateFunction.Max,
        ["count"] = AggregateFunction.Count,
        ["latest"] = AggregateFunction.Latest,
    };

    /// <summary>The functions named (all of them when none is), or null after an error naming --functions was printed.</summary>
    public static List<AggregateFunction>? ParseFunctions(IEnumerable<string> values)
    {
        var names = values.SelectMany(value => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (names.Count == 0)
        {
            return [.. ByName.Values];
        }

        var functions = new List<AggregateFunction>();
        foreach (var name in names)
        {
            if (!ByName.TryGetValue(name, out var function))
            {
                Terminal.Fail($"--functions {name}: expected sum, avg, min, max, count or latest.");
                return null;
            }

            functions.Add(function);
        }

        return functions;
    }

    public static IEnumerable<object?[]> Of(GetAggregatesResponse answer, DateTimeZone zone) => answer.Buckets.Select(bucket => new object?[]
    {
        SampleRows.Local(bucket.StartTime.ToDateTimeOffset().ToUnixTimeMilliseconds(), zone),
        SampleRows.Local(bucket.EndTime.ToDateTimeOffset().ToUnixTimeMilliseconds(), zone),
        bucket.Count,
        bucket.HasSum ? bucket.Sum : null,
        bucket.HasAvg ? bucket.Avg : null,
        bucket.HasMin ? bucket.Min : null,
        bucket.HasMax ? bucket.Max : null,
        bucket.HasLatest ? bucket.Latest : null,
        answer.Unit,
        bucket.ChosenSourceKind == DeviceKind.Unspecified ? null : bucket.ChosenSourceKind.ToString(),
    });
}
