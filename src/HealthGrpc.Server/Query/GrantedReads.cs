using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Query;

/// <summary>
/// What a query through grants may ask and see: every requested type shared, the range overlapping a grant of it;
/// the store read clipped to the grants' range, then each item kept only when its type and start are shared (a range
/// read also returns items that start before the range and overlap it); rollups only of 15-minute slots wholly inside a
/// grant (a slot partly outside would mix in samples that are not shared).
/// </summary>
internal static class GrantedReads
{
    /// <exception cref="GrantDeniedException">A type is not shared, or no grant of it overlaps the range.</exception>
    public static void Check(GrantScope scope, IReadOnlyList<int> types, long fromUnixMs, long toUnixMs)
    {
        foreach (var type in types)
        {
            if (!scope.CoversType(type))
            {
                throw new GrantDeniedException($"no active grant of owner_user_id covers {(DataType)type}.");
            }

            if (!scope.Overlaps(type, fromUnixMs, toUnixMs))
            {
                throw new GrantDeniedException($"no active grant of owner_user_id covers {(DataType)type} in the requested time range.");
            }
        }
    }

    /// <summary>The query with its range clipped to the grants' range of its types (pages and their tokens are unchanged: both sort by start).</summary>
    public static SampleQuery Clip(GrantScope scope, SampleQuery query)
    {
        var (from, to) = scope.Hull(query.Types);
        return query with { FromUnixMs = Math.Max(query.FromUnixMs, from), ToUnixMs = Math.Min(query.ToUnixMs, to) };
    }

    public static bool IsShared(GrantScope scope, SampleReadItem item)
    {
        var type = item.Position.Kind switch
        {
            SampleItemKind.Sample => item.Sample!.Type,
            SampleItemKind.Series => item.Series!.Type,
            _ => item.Waveform!.Type,
        };
        return scope.Covers(type, item.Position.StartUnixMs);
    }

    public static IReadOnlyList<RollupRecord> SharedRollups(GrantScope scope, IReadOnlyList<RollupRecord> rollups)
    {
        const long slotMs = 15 * 60 * 1000;
        return rollups.Where(rollup => scope.CoversSlot(rollup.Type, rollup.BucketStartUnixMs, rollup.BucketStartUnixMs + slotMs)).ToArray();
    }
}
