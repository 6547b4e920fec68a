using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Query;

/// <summary>A GetDailyDigest request, validated: distinct types, a UTC-midnight first day, 1..92 days, an optional device.</summary>
internal sealed record DailyDigestRequest(IReadOnlyList<int> Types, long FirstDayUnixMs, int Days, string? DeviceId)
{
    public const int MaxTypes = 32;
    public const int MaxDays = 92;
    private const long DayMs = 86_400_000;

    public static DailyDigestRequest From(GetDailyDigestRequest request)
    {
        if (request.Types_.Count is 0 or > MaxTypes)
        {
            throw QueryRejectedException.Invalid("types", $"has {request.Types_.Count} entries; it must have 1..{MaxTypes}.");
        }

        var types = new List<int>(request.Types_.Count);
        for (var i = 0; i < request.Types_.Count; i++)
        {
            var type = (int)QueryFields.Type(request.Types_[i], $"types[{i}]");
            if (types.Contains(type))
            {
                throw QueryRejectedException.Invalid($"types[{i}]", $"repeats {request.Types_[i]}.");
            }

            types.Add(type);
        }

        if (request.Days is 0 or > MaxDays)
        {
            throw QueryRejectedException.Invalid("days", $"is {request.Days}; it must be 1..{MaxDays}.");
        }

        var first = QueryFields.RequiredInstant(request.StartDay, "start_day");
        if (first % DayMs != 0 || request.StartDay.Nanos != 0)
        {
            throw QueryRejectedException.Invalid("start_day", "must be a day start, 00:00:00 UTC.");
        }

        if (request.DeviceId.Length > 128)
        {
            throw QueryRejectedException.Invalid("device_id", $"has {request.DeviceId.Length} characters; at most 128.");
        }

        return new DailyDigestRequest(types, first, (int)request.Days, request.DeviceId.Length == 0 ? null : request.DeviceId);
    }
}
