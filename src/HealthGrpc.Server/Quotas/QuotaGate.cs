using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Quotas;

/// <summary>
/// Admits a batch only if it keeps its user within the quotas: the user's own limits from the store, else the
/// <see cref="QuotaOptions"/> defaults. Checked against committed usage before the batch is committed, with the batch's
/// items counted as if all were new (an upper bound: duplicates are only known in the commit). A replayed batch_seq
/// (at or below the device's high-water mark) is never refused: it stores nothing and must get its original ack.
/// Batches of one user in flight at once are each checked against the same committed usage, so together they can
/// pass a limit by what is in flight; the next batch then sees it.
/// </summary>
internal sealed class QuotaGate(IQuotaStore quotas, IHealthStore store, QuotaOptions defaults, TimeProvider clock)
{
    public const string Devices = "devices";
    public const string SamplesPerDay = "samples_per_day";
    public const string StoredBytes = "stored_bytes";

    /// <summary>Throws <see cref="QuotaExceededException"/> when the batch would take the user over a quota.</summary>
    public async Task CheckAsync(string userId, string deviceId, ulong epoch, Batch batch, CancellationToken ct)
    {
        var own = await quotas.GetQuotaOverrideAsync(userId, ct).ConfigureAwait(false);
        var maxDevices = Limit(own?.MaxDevices, defaults.MaxDevices);
        var maxItems = Limit(own?.MaxSamplesPerDay, defaults.MaxSamplesPerDay);
        var maxBytes = Limit(own?.MaxStoredBytes, defaults.MaxStoredBytes);
        if (maxDevices == 0 && maxItems == 0 && maxBytes == 0)
        {
            return;
        }

        var device = await store.GetDeviceStateAsync(userId, deviceId, epoch, ct).ConfigureAwait(false);
        if (batch.BatchSeq <= device.HighWaterMark || device.Fenced)
        {
            return; // a replay (answered with its ack) or a fenced epoch (refused as such by the commit)
        }

        var dayStart = new DateTimeOffset(clock.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var usage = await quotas.GetUsageAsync(userId, dayStart, withStoredBytes: maxBytes > 0, ct).ConfigureAwait(false);
        if (maxDevices > 0 && device.NewestEpoch == 0 && usage.Devices >= maxDevices)
        {
            throw new QuotaExceededException(Devices, maxDevices, usage.Devices,
                $"device '{deviceId}' would be device {usage.Devices + 1} of user '{userId}', over the quota of {maxDevices} devices.");
        }

        var items = Items(batch);
        if (maxItems > 0 && usage.ItemsSince + items > maxItems)
        {
            throw new QuotaExceededException(SamplesPerDay, maxItems, usage.ItemsSince,
                $"batch {batch.BatchSeq} ({items} items) would take user '{userId}' over the quota of {maxItems} items stored per UTC day ({usage.ItemsSince} today).");
        }

        var bytes = StoredBytesOf(batch);
        if (maxBytes > 0 && usage.StoredBytes + bytes > maxBytes)
        {
            throw new QuotaExceededException(StoredBytes, maxBytes, usage.StoredBytes,
                $"batch {batch.BatchSeq} (about {bytes} bytes) would take user '{userId}' over the quota of {maxBytes} stored bytes ({usage.StoredBytes} stored).");
        }
    }

    /// <summary>The user's limit: its own when set (0: unlimited), else the default.</summary>
    private static long Limit(long? own, long fallback) => own ?? fallback;

    private static long Items(Batch batch)
    {
        long items = batch.Deletions.Count + batch.Records.Count + batch.Series.Count + batch.Waveforms.Count;
        foreach (var set in batch.SampleSets)
        {
            items += set.Samples.Count;
        }

        return items;
    }

    /// <summary>The batch's stored bytes as the store counts them (payload plus a row each), from the wire sizes.</summary>
    private static long StoredBytesOf(Batch batch)
    {
        const long row = QuotaUsage.RowBytes;
        long bytes = 0;
        foreach (var set in batch.SampleSets)
        {
            bytes += set.Samples.Count * row;
        }

        foreach (var series in batch.Series)
        {
            bytes += series.CalculateSize() + row;
        }

        foreach (var waveform in batch.Waveforms)
        {
            bytes += waveform.CalculateSize() + row;
        }

        foreach (var record in batch.Records)
        {
            bytes += record.CalculateSize() + row;
        }

        return bytes;
    }
}
