using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Query;

/// <summary>Device kinds as people type them: watch, WATCH, medical-device or DEVICE_KIND_MEDICAL_DEVICE.</summary>
internal static class DeviceKindNames
{
    private static readonly Dictionary<string, DeviceKind> ByName = Enum.GetValues<DeviceKind>()
        .Where(kind => kind != DeviceKind.Unspecified)
        .ToDictionary(kind => Normalize(kind.ToString()), StringComparer.Ordinal);

    public static string Known => string.Join(", ", ByName.Values.Select(kind => kind.ToString()));

    /// <summary>The kinds of comma-separated names, or the first name that is not a kind.</summary>
    public static (List<DeviceKind> Kinds, string? Unknown) Parse(IEnumerable<string> values)
    {
        var kinds = new List<DeviceKind>();
        foreach (var name in values.SelectMany(value => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!ByName.TryGetValue(Normalize(name), out var kind))
            {
                return (kinds, name);
            }

            kinds.Add(kind);
        }

        return (kinds, null);
    }

    private static string Normalize(string name)
    {
        var upper = name.ToUpperInvariant().Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        return upper.StartsWith("DEVICEKIND", StringComparison.Ordinal) ? upper["DEVICEKIND".Length..] : upper;
    }
}
