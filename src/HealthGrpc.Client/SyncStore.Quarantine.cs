using Google.Protobuf;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>Reading the quarantine (batches with status 2), oldest first.</summary>
internal sealed partial class SyncStore
{
    public async Task<IReadOnlyList<QuarantinedItem>> GetQuarantineAsync(long afterId, int limit, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, """
                SELECT id, tier, sample_count, last_error, reject_reason, created_ms, quarantined_ms, payload
                FROM batches WHERE status=2 AND id > $after ORDER BY id LIMIT $limit
                """);
            cmd.Parameters.AddWithValue("$after", afterId);
            cmd.Parameters.AddWithValue("$limit", (long)limit);
            var list = new List<QuarantinedItem>();
            using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(new QuarantinedItem(
                    r.GetInt64(0),
                    (SyncTier)r.GetInt64(1),
                    r.GetInt32(2),
                    r.IsDBNull(3) ? "" : r.GetString(3),
                    r.IsDBNull(4) ? null : (RejectReason)r.GetInt64(4),
                    DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
                    DateTimeOffset.FromUnixTimeMilliseconds(r.IsDBNull(6) ? r.GetInt64(5) : r.GetInt64(6)),
                    Batch.Parser.ParseFrom(_cipher.Open((byte[])r.GetValue(7)))));
            }

            return list;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// The uuids of the samples the server rejected (quarantined items with their reject reason; whole batches quarantined
    /// after repeated failures are not refusals of their samples). Bounded by the quarantine's own limits.
    /// </summary>
    public async Task<IReadOnlySet<ByteString>> GetRefusedSampleUuidsAsync(CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = Command(null, "SELECT payload FROM batches WHERE status=2 AND reject_reason IS NOT NULL");
            var uuids = new HashSet<ByteString>();
            using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                foreach (var set in Batch.Parser.ParseFrom(_cipher.Open((byte[])r.GetValue(0))).SampleSets)
                {
                    uuids.UnionWith(set.Samples.Select(s => s.Uuid));
                }
            }

            return uuids;
        }
        catch (Exception e) when (StoreFailure.Is(e))
        {
            throw StoreFailure.Wrap(e, Path);
        }
        finally
        {
            _lock.Release();
        }
    }
}
