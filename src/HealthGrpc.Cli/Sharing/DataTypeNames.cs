using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Sharing;

/// <summary>Data types as people type them: heart-rate, HeartRate, HEART_RATE or DATA_TYPE_HEART_RATE.</summary>
internal static class DataTypeNames
{
    private static readonly Dictionary<string, DataType> ByName = Enum.GetValues<DataType>()
        .Where(type => type != DataType.Unspecified)
        .ToDictionary(type => Normalize(type.ToString()), StringComparer.Ordinal);

    /// <summary>The types of comma- or space-separated names, or the first name that is not a type.</summary>
    public static (List<DataType> Types, string? Unknown) Parse(IEnumerable<string> values)
    {
        var types = new List<DataType>();
        foreach (var name in values.SelectMany(value => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!ByName.TryGetValue(Normalize(name), out var type))
            {
                return (types, name);
            }

            types.Add(type);
        }

        return (types, null);
    }

    public static string Known => string.Join(", ", ByName.Values.Select(type => type.ToString()));

    public static string Format(IEnumerable<int> types) => string.Join(",", types.Select(type => ((DataType)type).ToString()));

    private static string Normalize(string name)
    {
        var upper = name.ToUpperInvariant().Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        return upper.StartsWith("DATATYPE", StringComparison.Ordinal) ? upper["DATATYPE".Length..] : upper;
    }
}
