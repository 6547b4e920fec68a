using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// Which changes a reader wants. No types: everything, records included. Types: the samples, series and waveforms of
/// those types; records (which have no data type) are left out. Deletions carry only the deleted uuid (the store may
/// not know its type: a tombstone can arrive before its sample), so a type filter keeps every deletion; a consumer
/// ignores uuids it does not hold. <c>exclude_deletions</c> drops deletions and replaced-sample deletions. Through a
/// grant (<see cref="Within"/>), only items the grant's scope covers (type and start time) pass, records never. Insights
/// pass by their data type (and, through a grant, when the grant covers their whole period).
/// </summary>
internal sealed class FeedFilter
{
    private readonly HashSet<int>? _types;
    private readonly bool _excludeDeletions;
    private readonly GrantScope? _scope;

    private FeedFilter(HashSet<int>? types, bool excludeDeletions, GrantScope? scope = null)
    {
        _types = types;
        _excludeDeletions = excludeDeletions;
        _scope = scope;
    }

    /// <summary>The types the reader reads: those of the filter, else (through a grant) the grant's; empty: all.</summary>
    public IReadOnlyList<int> Types => _types is not null ? _types.Order().ToArray() : _scope?.Types ?? [];

    /// <summary>This filter, restricted to a grant's scope.</summary>
    /// <exception cref="GrantDeniedException">A type of the filter is not shared.</exception>
    public FeedFilter Within(GrantScope scope)
    {
        foreach (var type in _types ?? [])
        {
            if (!scope.CoversType(type))
            {
                throw new GrantDeniedException($"no active grant of owner_user_id covers filter type {(DataType)type}.");
            }
        }

        return new FeedFilter(_types, _excludeDeletions, scope);
    }

    /// <summary>The filter of a request (null: everything).</summary>
    /// <exception cref="SyncRejectedException">A type is DATA_TYPE_UNSPECIFIED.</exception>
    public static FeedFilter From(ChangeFilter? filter)
    {
        if (filter is null)
        {
            return new FeedFilter(null, false);
        }

        HashSet<int>? types = null;
        if (filter.Types_.Count > 0)
        {
            types = [];
            foreach (var type in filter.Types_)
            {
                if (type == DataType.Unspecified)
                {
                    throw new SyncRejectedException(ErrorReason.ProtocolViolation, "filter.types must not contain DATA_TYPE_UNSPECIFIED.");
                }

                types.Add((int)type);
            }
        }

        return new FeedFilter(types, filter.ExcludeDeletions);
    }

    public bool Matches(ChangeRecord change) => change.Kind switch
    {
        ChangeKind.Deletion or ChangeKind.SampleReplaced => !_excludeDeletions,
        ChangeKind.Sample => Includes(change.Sample!.Type, change.Sample.StartUnixMs),
        ChangeKind.Series => Includes(change.Series!.Type, change.Series.StartUnixMs),
        ChangeKind.Waveform => Includes(change.Waveform!.Type, change.Waveform.StartUnixMs),
        ChangeKind.Insight => IncludesInsight(change.Insight!.Finding),
        _ => _types is null && _scope is null,
    };

    // Through a grant, only insights of a shared type whose whole period is shared (as InsightService.ListInsights).
    private bool IncludesInsight(InsightFinding insight) =>
        (_types is null || _types.Contains(insight.DataType))
        && (_scope is null || _scope.CoversSlot(insight.DataType, insight.PeriodStartUnixMs, insight.PeriodEndUnixMs));

    private bool Includes(int type, long startUnixMs) =>
        (_types is null || _types.Contains(type)) && (_scope is null || _scope.Covers(type, startUnixMs));
}
