using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// Which changes a reader wants. No types: everything, records included. Types: the samples, series and waveforms of
/// those types; records (which have no data type) are left out. Deletions carry only the deleted uuid (the store may
/// not know its type: a tombstone can arrive before its sample), so a type filter keeps every deletion; a consumer
/// ignores uuids it does not hold. <c>exclude_deletions</c> drops deletions and replaced-sample deletions.
/// </summary>
internal sealed class FeedFilter
{
    private readonly HashSet<int>? _types;
    private readonly bool _excludeDeletions;

    private FeedFilter(HashSet<int>? types, bool excludeDeletions)
    {
        _types = types;
        _excludeDeletions = excludeDeletions;
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
        ChangeKind.Sample => _types is null || _types.Contains(change.Sample!.Type),
        ChangeKind.Series => _types is null || _types.Contains(change.Series!.Type),
        ChangeKind.Waveform => _types is null || _types.Contains(change.Waveform!.Type),
        _ => _types is null,
    };
}
