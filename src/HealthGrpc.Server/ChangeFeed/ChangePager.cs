using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// One <c>Changes</c> page: reads the store in sequence order after the position, keeps what the filter matches, and
/// ends at the page size or the scan budget. next_token is past the last change EXAMINED (matched or not), so a page
/// filtered to nothing still moves the reader on.
/// </summary>
internal sealed class ChangePager(IHealthStore store, ChangeFeedOptions options)
{
    /// <summary>page_size 0 is the default; above the maximum it is clamped.</summary>
    public int PageSize(uint requested) =>
        requested == 0 ? options.DefaultPageSize : (int)Math.Min(requested, (uint)Math.Max(1, options.MaxPageSize));

    public async Task<ChangesResponse> ReadAsync(FeedPosition start, int pageSize, FeedFilter filter, CancellationToken ct)
    {
        var response = new ChangesResponse();
        var position = start.AfterSequence;
        var scanned = 0;
        var hasMore = true;
        while (hasMore && response.Changes.Count < pageSize && scanned < options.MaxScannedPerPage)
        {
            var page = await store.ReadChangesAsync(start.UserId, position, pageSize, ct).ConfigureAwait(false);
            await FeedStart.EnsureRetainedAsync(store, start.UserId, position, ct).ConfigureAwait(false);
            hasMore = page.HasMore;
            for (var i = 0; i < page.Changes.Count; i++)
            {
                if (response.Changes.Count == pageSize)
                {
                    hasMore = true; // the rest of this read is still ahead of next_token
                    break;
                }

                var change = page.Changes[i];
                if (filter.Matches(change))
                {
                    response.Changes.Add(ChangeMapper.ToWire(change));
                }

                position = change.Sequence;
                scanned++;
            }
        }

        response.NextToken = ChangeToken.Format(start.UserId, position);
        response.HasMore = hasMore;
        return response;
    }
}
