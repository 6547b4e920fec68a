using Google.Protobuf;
using Grpc.Core;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>
/// Reconciliation, the integrity check of the reliable sync: per type and UTC day, what the sources hold against what the
/// server holds of this device (<c>QueryService.GetDailyDigest</c>: count and uuid digest); days that differ are
/// enqueued again, days where the server holds more are reported.
/// </summary>
public sealed partial class HealthSyncClient
{
    private const long DayMs = 86_400_000;

    /// <summary>
    /// Compares, for every type of the configured sources and each of the last <see cref="HealthSyncOptions.ReconciliationDays"/>
    /// UTC days (today included), the samples the sources hold (<see cref="ISampleSource.ReadRangeAsync"/> of the day,
    /// distinct uuids) with the samples the server holds from this device. A day that differs is enqueued again whole at
    /// catch-up priority (the server deduplicates by uuid, so what it has is not stored twice); a day where the server
    /// holds more than the sources is reported (<see cref="ReconciledDay.ServerHasMore"/>) and nothing is deleted. Samples
    /// the server rejected (in the quarantine with their reason, until <see cref="HealthSyncOptions.QuarantineRetention"/>
    /// purges them) are left out of both sides of the comparison: resending them would only have them refused again;
    /// <see cref="RetryQuarantinedAsync"/> sends them on request. The
    /// result is raised as a <see cref="SyncEventKind.Reconciled"/> event and kept for <see cref="SyncStatus.LastReconciliation"/>.
    /// Run it after a drain: samples still queued compare as missing and are enqueued once more (harmless, but sent twice).
    /// </summary>
    /// <exception cref="ReconciliationException">The server could not answer (unreachable, refused the token, or UNIMPLEMENTED on its store).</exception>
    public async Task<ReconciliationResult> ReconcileAsync(CancellationToken cancellationToken = default)
    {
        // Whole milliseconds: the time is kept in the store at that precision, and the status must equal the result.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(_options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        var days = Math.Clamp(_options.ReconciliationDays, 1, 92);
        var firstDayMs = ((now.ToUnixTimeMilliseconds() / DayMs) - days + 1) * DayMs;
        var types = _options.Sources.SelectMany(s => s.Types).Distinct().ToList();
        var differences = new List<ReconciledDay>();
        if (types.Count > 0)
        {
            var server = await GetServerDigestsAsync(types, firstDayMs, days, cancellationToken).ConfigureAwait(false);
            var refused = await _store.GetRefusedSampleUuidsAsync(cancellationToken).ConfigureAwait(false);
            foreach (var digest in server)
            {
                var local = await ReadSourcesAsync(digest.Type, digest.DayStart.ToDateTimeOffset(), refused, cancellationToken).ConfigureAwait(false);
                if (local.Matches(digest))
                {
                    continue;
                }

                var resent = local.Samples > 0
                    ? (await EnqueueCoreAsync(local.Sets, null, null, SyncTier.CatchUp, false, null, cancellationToken).ConfigureAwait(false)).SampleCount
                    : 0;
                differences.Add(new ReconciledDay(digest.Type, DateOnly.FromDateTime(digest.DayStart.ToDateTime()), local.Count, (long)digest.Count, resent));
            }
        }

        var summary = new ReconciliationSummary(
            now, types.Count * days, differences.Count(d => d.SamplesResent > 0), differences.Count(d => d.ServerHasMore), differences.Sum(d => (long)d.SamplesResent));
        await _store.RecordReconciliationAsync(summary, cancellationToken).ConfigureAwait(false);
        var result = new ReconciliationResult(summary, DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(firstDayMs).UtcDateTime), differences);
        Emit(new SyncEvent
        {
            Kind = SyncEventKind.Reconciled,
            SampleCount = (int)Math.Min(int.MaxValue, summary.SamplesResent),
            Reconciliation = result,
            Message = $"{summary.DaysCompared} type-days compared: {summary.DaysResent} resent ({summary.SamplesResent} samples), {summary.DaysServerHasMore} where the server holds more",
        });
        Kick();
        return result;
    }

    /// <summary>True when the last complete drain (or the store's creation) is at least <see cref="HealthSyncOptions.ReconciliationInterval"/> old.</summary>
    private async Task<bool> ReconciliationDueAsync(CancellationToken ct)
    {
        if (_options.ReconciliationInterval == Timeout.InfiniteTimeSpan || _options.Sources.Count == 0)
        {
            return false;
        }

        var last = await _store.GetLastCompleteSyncAsync(ct).ConfigureAwait(false);
        return last is null || _options.TimeProvider.GetUtcNow() - last.Value >= _options.ReconciliationInterval;
    }

    /// <summary>The automatic reconciliation of a drain: a failure is reported (the drain itself succeeded), never thrown.</summary>
    private async Task ReconcileInDrainAsync(CancellationToken ct)
    {
        try
        {
            await ReconcileAsync(ct).ConfigureAwait(false);
            await WaitUntilDrainedAsync(ct).ConfigureAwait(false);
        }
        catch (ReconciliationException e)
        {
            Emit(new SyncEvent { Kind = SyncEventKind.ReconciliationFailed, Error = e, Message = e.Message });
        }
    }

    private async Task<IReadOnlyList<DailyDigest>> GetServerDigestsAsync(IReadOnlyList<DataType> types, long firstDayMs, int days, CancellationToken ct)
    {
        string token;
        try
        {
            token = await GetTokenAsync(false, ct).ConfigureAwait(false);
        }
        catch (UnauthenticatedSyncException e)
        {
            throw new ReconciliationException("Reconciliation needs an access token; none is available.", e) { StatusCode = StatusCode.Unauthenticated };
        }

        var request = new GetDailyDigestRequest
        {
            StartDay = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(firstDayMs)),
            Days = (uint)days,
            DeviceId = DeviceId,
        };
        request.Types_.Add(types);
        try
        {
            var response = await _connection.Query.GetDailyDigestAsync(
                request, new CallOptions(AuthHeaders(token), DateTime.UtcNow + _options.AckTimeout, ct)).ResponseAsync.ConfigureAwait(false);
            return response.Digests;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !ct.IsCancellationRequested)
        {
            throw new ReconciliationException($"The server did not answer GetDailyDigest: {e.StatusCode} {e.Status.Detail}", e) { StatusCode = e.StatusCode };
        }
    }

    /// <summary>What every source that reads <paramref name="type"/> holds of the UTC day starting at <paramref name="day"/>, but the samples the server refused.</summary>
    private async Task<SourceDayDigest> ReadSourcesAsync(DataType type, DateTimeOffset day, IReadOnlySet<ByteString> refused, CancellationToken ct)
    {
        var digest = new SourceDayDigest();
        foreach (var source in _options.Sources)
        {
            if (source.Types.Contains(type))
            {
                digest.Add(await source.ReadRangeAsync(type, day, day.AddDays(1), ct).ConfigureAwait(false), refused);
            }
        }

        return digest;
    }
}
