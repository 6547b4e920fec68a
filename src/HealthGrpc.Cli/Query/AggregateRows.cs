using HealthGrpc.Cli.Shared;
using HealthGrpc.Contracts.V1;
using NodaTime;

namespace HealthGrpc.Cli.Query;

/// <summary>
/// One row per aggregate bucket; statistics that were not asked for stay empty. A category type's durations (function
/// `duration`) are one column, `value:milliseconds/samples` per category value, `;`-separated.
/// </summary>
internal static class AggregateRows
{
    public static readonly IReadOnlyList<string> Columns = ["start", "end", "count", "sum", "avg", "min", "max", "latest", "unit", "sourceKind", "categories"];

    private static readonly Dictionary<string, AggregateFunction> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sum"] = AggregateFunction.Sum,
        ["avg"] = AggregateFunction.Avg,
        ["min"] = AggregateFunction.Min,
        ["max"] = AggregateFunction.Max,
        ["count"] = AggregateFunction.Count,
        ["latest"] = AggregateFunction.Latest,
        ["duration"] = AggregateFunction.Duration,
    };

    /// <summary>
    /// The functions named, or null after an error naming --functions was printed. None named: every quantity function
    /// (a category type needs `--functions duration[,count]`: the server refuses the others for it).
    /// </summary>
    public static List<AggregateFunction>? ParseFunctions(IEnumerable<string> values)
    {
        var names = values.SelectMany(value => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (names.Count == 0)
        {
            return [.. ByName.Values.Where(function => function != AggregateFunction.Duration)];
        }

        var functions = new List<AggregateFunction>();
        foreach (var name in names)
        {
            if (!ByName.TryGetValue(name, out var function))
            {
                Terminal.Fail($"--functions {name}: expected sum, avg, min, max, count, latest or duration.");
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
        bucket.Categories.Count == 0 ? null : string.Join(';', bucket.Categories.Select(c => FormattableString.Invariant($"{c.Value}:{c.DurationMs}/{c.Count}"))),
    });
}
