using HealthGrpc.Cli.Query;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Export;

/// <summary>
/// A user's records as they stand now: the newest version of each (record_type, record_id), deleted ones left out.
/// Records have no read RPC of their own (query.proto reads samples), so they come from the change feed. The stores keep
/// one feed entry per record, moved to the end by each new version, but a version committed while the export pages
/// through the feed shows the record twice: the newest one seen is kept. That is the one part of an export held in
/// memory whole, bounded by the user's live records (documents, at most 256 KiB each), not by their samples.
/// </summary>
internal static class CurrentRecords
{
    private const uint FeedPageSize = 10_000;

    /// <summary>Records last modified in [scope.From, scope.To), by type then id.</summary>
    public static async Task<IReadOnlyList<StoredRecord>> ReadAsync(ReadClient client, ReadScope scope, CancellationToken ct)
    {
        var newest = new Dictionary<(string Type, string Id), StoredRecord>();
        // No type filter: a filter leaves records out (change_feed.proto). Tombstones delete samples, not records.
        var request = new ChangesRequest { OwnerUserId = scope.Owner, PageSize = FeedPageSize, Filter = new ChangeFilter { ExcludeDeletions = true } };
        while (true)
        {
            var page = await client.Changes.ChangesAsync(request, client.Auth, cancellationToken: ct);
            foreach (var change in page.Changes.Where(change => change.ItemCase == Change.ItemOneofCase.Record))
            {
                var record = change.Record.Record;
                var key = (record.RecordType, record.RecordId);
                // The feed is in commit order and a version is stored only above the stored one: the last seen is the newest.
                newest[key] = change.Record;
            }

            if (!page.HasMore)
            {
                break;
            }

            request.SinceToken = page.NextToken;
        }

        var from = scope.From.ToUnixTimeMilliseconds();
        var to = scope.To.ToUnixTimeMilliseconds();
        return newest.Values
            .Where(stored => !stored.Record.Deleted)
            .Where(stored => Modified(stored.Record) is var at && at >= from && at < to)
            .OrderBy(stored => stored.Record.RecordType, StringComparer.Ordinal)
            .ThenBy(stored => stored.Record.RecordId, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>When the record was last modified; an absent time is stored as 1970-01-01 (samples.proto).</summary>
    public static long Modified(Record record) => record.ModifiedTime?.ToDateTimeOffset().ToUnixTimeMilliseconds() ?? 0;
}
