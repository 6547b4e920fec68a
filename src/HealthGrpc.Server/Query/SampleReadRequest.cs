using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Query;

/// <summary>A ReadSamples request, validated, as the store's query plus the fingerprint its page tokens carry.</summary>
internal sealed record SampleReadRequest(SampleQuery Query, ulong Fingerprint)
{
    public const int DefaultPageSize = 1000;
    public const int MaxPageSize = 10_000;

    /// <summary>How long before start_time a discrete sample may start and still be found (see query.proto).</summary>
    public static readonly TimeSpan Lookback = TimeSpan.FromHours(24);

    public static SampleReadRequest From(ReadSamplesRequest request, string ownerUserId)
    {
        if (request.Types_.Count == 0)
        {
            throw QueryRejectedException.Invalid("types", "must name at least one data type.");
        }

        var types = new int[request.Types_.Count];
        for (var i = 0; i < types.Length; i++)
        {
            types[i] = (int)QueryFields.Type(request.Types_[i], $"types[{i}]");
        }

        var kinds = new int[request.SourceKinds.Count];
        for (var i = 0; i < kinds.Length; i++)
        {
            kinds[i] = (int)QueryFields.Kind(request.SourceKinds[i], $"source_kinds[{i}]");
        }

        var (from, to) = QueryFields.Range(request.StartTime, request.EndTime);
        var pageSize = request.PageSize switch
        {
            0 => DefaultPageSize,
            > MaxPageSize => throw QueryRejectedException.Invalid("page_size", $"is {request.PageSize}; it must be 1..{MaxPageSize} (0 means {DefaultPageSize})."),
            var size => (int)size,
        };

        var fingerprint = SamplePageToken.Fingerprint(ownerUserId, types, kinds, from, to);
        long? snapshot = null;
        SampleReadPosition? after = null;
        if (request.PageToken.Length > 0)
        {
            (snapshot, after) = SamplePageToken.Decode(request.PageToken, fingerprint);
        }

        var query = new SampleQuery(ownerUserId, types, kinds, from, to, (long)Lookback.TotalMilliseconds, snapshot, after, pageSize);
        return new SampleReadRequest(query, fingerprint);
    }
}
