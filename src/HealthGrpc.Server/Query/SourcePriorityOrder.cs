using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Query;

/// <summary>A source priority a user stores (SetSourcePriority), validated: known kinds, none unspecified, none twice.</summary>
internal static class SourcePriorityOrder
{
    public static int[] From(IReadOnlyList<DeviceKind> kinds)
    {
        var order = new int[kinds.Count];
        var seen = new HashSet<DeviceKind>();
        for (var i = 0; i < kinds.Count; i++)
        {
            var field = $"source_priority[{i}]";
            var kind = QueryFields.Kind(kinds[i], field);
            if (kind == DeviceKind.Unspecified)
            {
                throw QueryRejectedException.Invalid(field, "is DEVICE_KIND_UNSPECIFIED; name the kinds to rank (an empty list restores the default order).");
            }

            if (!seen.Add(kind))
            {
                throw QueryRejectedException.Invalid(field, $"repeats {kind}; list each kind at most once.");
            }

            order[i] = (int)kind;
        }

        return order;
    }

    public static IEnumerable<DeviceKind> ToWire(IReadOnlyList<int> stored) => stored.Select(static kind => (DeviceKind)kind);
}
