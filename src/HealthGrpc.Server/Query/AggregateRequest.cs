using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using NodaTime;

namespace HealthGrpc.Server.Query;

/// <summary>A GetAggregates request, validated: a quantity type with rollup functions, or a category type (<see cref="IsCategory"/>) with DURATION/COUNT.</summary>
internal sealed record AggregateRequest(
    string OwnerUserId,
    DataType Type,
    bool IsCategory,
    string Unit,
    long FromUnixMs,
    long ToUnixMs,
    BucketSize BucketSize,
    DateTimeZone Zone,
    IReadOnlySet<AggregateFunction> Functions,
    SourcePriority Priority)
{
    private static readonly TimeSpan MaxHourlyRange = TimeSpan.FromDays(5 * 366);
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(100 * 366);

    /// <summary>Validates <paramref name="request"/> for <paramref name="ownerUserId"/>'s data; <paramref name="storedOrder"/> is the owner's stored source priority (DeviceKind numbers, highest first; empty: none).</summary>
    public static AggregateRequest From(GetAggregatesRequest request, string ownerUserId, IReadOnlyList<int> storedOrder)
    {
        var type = QueryFields.Type(request.Type, "type");
        if (!TypeRules.TryGet(type, out var rule))
        {
            throw QueryRejectedException.Invalid("type", $"{type} has no values to aggregate (only quantity and category types are aggregated).");
        }

        if (request.BucketSize == BucketSize.Unspecified || !System.Enum.IsDefined(request.BucketSize))
        {
            throw QueryRejectedException.Invalid("bucket_size", $"is {(int)request.BucketSize}; it must be HOUR, DAY, WEEK or MONTH.");
        }

        if (request.Functions.Count == 0)
        {
            throw QueryRejectedException.Invalid("functions", "must name at least one aggregate function.");
        }

        var functions = new HashSet<AggregateFunction>();
        for (var i = 0; i < request.Functions.Count; i++)
        {
            var function = request.Functions[i];
            if (function == AggregateFunction.Unspecified || !System.Enum.IsDefined(function))
            {
                throw QueryRejectedException.Invalid($"functions[{i}]", $"is {(int)function}, not a known aggregate function.");
            }

            // Category samples have no numeric value to sum; quantity samples no category to total durations of.
            if (rule.IsCategory && function is not (AggregateFunction.Duration or AggregateFunction.Count))
            {
                throw QueryRejectedException.Invalid($"functions[{i}]", $"is {function}; the category type {type} takes DURATION and COUNT only.");
            }

            if (!rule.IsCategory && function == AggregateFunction.Duration)
            {
                throw QueryRejectedException.Invalid($"functions[{i}]", $"is DURATION, which only category types take; {type} is a quantity type.");
            }

            functions.Add(function);
        }

        var preferred = new DeviceKind[request.SourcePriority.Count];
        for (var i = 0; i < preferred.Length; i++)
        {
            preferred[i] = QueryFields.Kind(request.SourcePriority[i], $"source_priority[{i}]");
        }

        var (from, to) = QueryFields.Range(request.StartTime, request.EndTime);
        var hourly = request.BucketSize == BucketSize.Hour;
        if (TimeSpan.FromMilliseconds(to - from) > (hourly ? MaxHourlyRange : MaxRange))
        {
            throw QueryRejectedException.Invalid("end_time", hourly
                ? "is more than 5 years after start_time, the longest range for hourly buckets."
                : "is more than 100 years after start_time.");
        }

        return new AggregateRequest(
            ownerUserId, type, rule.IsCategory, rule.CanonicalUnit, from, to, request.BucketSize, ResolveZone(request.TimeZone), functions,
            new SourcePriority(preferred.Concat(SourcePriorityOrder.ToWire(storedOrder))));
    }

    private static DateTimeZone ResolveZone(string id)
    {
        if (id.Length == 0)
        {
            return DateTimeZone.Utc;
        }

        return DateTimeZoneProviders.Tzdb.GetZoneOrNull(id)
            ?? throw QueryRejectedException.Invalid("time_zone", $"'{(id.Length > 64 ? id[..64] + "…" : id)}' is not an IANA time zone of tzdb {DateTimeZoneProviders.Tzdb.VersionId}.");
    }
}
