using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Query;

/// <summary>
/// The category samples category aggregates fold: every sample of the type overlapping the range (with the range read's
/// look-back), page by page in one snapshot of the store; through a grant only the shared ones.
/// </summary>
internal static class CategorySamples
{
    private const int PageSize = 10_000;

    public static async Task<List<SampleRecord>> ReadAsync(
        IHealthStore store, string ownerUserId, int type, long fromUnixMs, long toUnixMs, GrantScope? scope, CancellationToken ct)
    {
        var query = new SampleQuery(
            ownerUserId, [type], [], fromUnixMs, toUnixMs, (long)SampleReadRequest.Lookback.TotalMilliseconds, SnapshotSequence: null, After: null, PageSize);
        if (scope is not null)
        {
            query = GrantedReads.Clip(scope, query);
        }

        var samples = new List<SampleRecord>();
        while (true)
        {
            var page = await store.ReadSamplesAsync(query, ct).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                if (item.Sample is { Category: not null } sample && (scope is null || GrantedReads.IsShared(scope, item)))
                {
                    samples.Add(sample);
                }
            }

            if (!page.HasMore)
            {
                return samples;
            }

            query = query with { SnapshotSequence = page.SnapshotSequence, After = page.Items[^1].Position };
        }
    }
}
