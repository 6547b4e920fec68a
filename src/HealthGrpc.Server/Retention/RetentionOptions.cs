using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Retention;

/// <summary>
/// Retention settings, bound from the <c>Retention</c> configuration section, e.g.
/// <c>--Retention:DefaultDays 365 --Retention:Days:HEART_RATE 30 --Retention:AckDays 30</c>.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Days raw samples of a type without its own setting are kept (0: forever, the default).</summary>
    public int DefaultDays { get; set; }

    /// <summary>Days per type, by proto name with or without its prefix (<c>HEART_RATE</c>, <c>DATA_TYPE_HEART_RATE</c>) or C# name (<c>HeartRate</c>); 0 keeps that type forever.</summary>
    public Dictionary<string, int> Days { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Days a batch's stored ack keeps its counts and rejection messages (0: forever). The latest batch of each device epoch always keeps its ack.</summary>
    public int AckDays { get; set; } = 30;

    /// <summary>Time between two retention sweeps (the first runs at start).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows one purge or compaction transaction handles at most: ingest waits for at most one such batch.</summary>
    public int BatchRows { get; set; } = 5000;

    /// <summary>Days to keep per stored type (only types with a limit); throws on a type name that is not a DataType.</summary>
    public IReadOnlyDictionary<int, int> DaysByType()
    {
        var byType = new Dictionary<int, int>();
        if (DefaultDays > 0)
        {
            foreach (var type in Enum.GetValues<DataType>())
            {
                if (type != DataType.Unspecified)
                {
                    byType[(int)type] = DefaultDays;
                }
            }
        }

        foreach (var (name, days) in Days)
        {
            if (days < 0)
            {
                throw new InvalidOperationException($"Retention:Days:{name} is {days}; use 0 (keep forever) or a positive number of days.");
            }

            var type = Parse(name);
            if (days == 0)
            {
                byType.Remove((int)type);
            }
            else
            {
                byType[(int)type] = days;
            }
        }

        return byType;
    }

    private static DataType Parse(string name)
    {
        var key = name.Replace("_", string.Empty, StringComparison.Ordinal);
        if (key.StartsWith("DATATYPE", StringComparison.OrdinalIgnoreCase))
        {
            key = key["DATATYPE".Length..];
        }

        foreach (var type in Enum.GetValues<DataType>())
        {
            if (type != DataType.Unspecified && string.Equals(type.ToString(), key, StringComparison.OrdinalIgnoreCase))
            {
                return type;
            }
        }

        throw new InvalidOperationException($"Retention:Days:{name} names no data type (use a DataType name such as HEART_RATE).");
    }
}
