using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using HealthGrpc.Client;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Import;

/// <summary>What `import apple-health` was told.</summary>
internal sealed record ImportSettings(string ExportPath, Uri Server, string Token, string StateDirectory, string? DeviceId, bool AllowInsecure);

/// <summary>A failure the user can act on (bad token, fenced device): reported as an error, not a stack trace.</summary>
internal sealed class ImportFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One import through the SDK: the export is an anchored source of a <see cref="HealthSyncClient"/> whose durable queue
/// lives in the state directory, one device per export. Collect rounds read the export while the engine sends; the queue is
/// kept short (backpressure), so disk and memory stay bounded; at the end the queue is drained, so every sample read is
/// stored, a duplicate, rejected with a reason, or counted as unsupported.
/// </summary>
internal sealed class ImportRun : IDisposable
{
    /// <summary>Samples waiting in the SDK's queue before reading pauses: enough to keep 16 batches of 5,000 in flight.</summary>
    private const long MaxQueuedSamples = 100_000;

    private readonly ImportSettings _settings;
    /// <summary>The summary row of each queued batch (a type's, or the beats' row): its ack is counted there.</summary>
    private readonly ConcurrentDictionary<long, string> _batchRows = new();
    private readonly SemaphoreSlim _acked = new(0, int.MaxValue);
    private string? _failure;
    private ExportReader? _reader;
    private HealthSyncClient? _client;

    public ImportRun(ImportSettings settings) => _settings = settings;

    public ImportTally Tally { get; } = new();

    /// <summary>Uncompressed bytes of export.xml read, and its total (for the progress bar).</summary>
    public (long Read, long Total) Bytes => _reader is { } r ? (r.BytesRead, r.Length) : (0, 0);

    public Stopwatch Elapsed { get; } = new();

    /// <summary>The device id of this export on the server (and the name of its local state).</summary>
    public string DeviceId { get; private set; } = string.Empty;

    /// <summary>What the SDK is doing (for the progress line), e.g. backing off after the server went away.</summary>
    public string? LastError { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        Elapsed.Start();
        using (var identity = ExportReader.Open(_settings.ExportPath, new ImportTally()))
        {
            DeviceId = _settings.DeviceId ?? "apple-health-export-" + identity.Fingerprint();
        }

        Directory.CreateDirectory(_settings.StateDirectory);
        _reader = ExportReader.Open(_settings.ExportPath, Tally);
        using var source = new ExportSource(_reader, Tally, WaitForRoomAsync);
        var options = new HealthSyncOptions
        {
            ServerAddress = _settings.Server,
            DatabasePath = Path.Combine(_settings.StateDirectory, DeviceId + ".db"),
            DeviceId = DeviceId,
            AccessToken = _settings.Token,
            AllowInsecureChannel = _settings.AllowInsecure,
            SdkVersion = "healthgrpc-import/1.0",
        };
        options.Sources.Add(source);
        foreach (var type in source.Types)
        {
            // One tier for every type: the SDK collects them in the same rounds, non-atomically (a rejected sample must not hold
            // back the valid ones of its batch), at catch-up priority (a backfill yields to live data on the server's logs).
            options.TierOverrides[type] = SyncTier.CatchUp;
        }

        await using var client = await HealthSyncClient.OpenAsync(options, ct).ConfigureAwait(false);
        _client = client;
        await AttributeQueuedBatchesAsync(client, ct).ConfigureAwait(false);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        client.Events += (_, e) => OnEvent(source, e, failed);
        client.Start();
        try
        {
            do
            {
                await client.CollectAsync(failed.Token).ConfigureAwait(false);
            }
            while (!source.Finished);

            await client.WaitUntilDrainedAsync(failed.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_failure is not null)
        {
            throw new ImportFailedException(_failure);
        }
        catch (Exception e) when (e.InnerException is RpcException { StatusCode: StatusCode.Unauthenticated })
        {
            throw new ImportFailedException("the server refused the token (UNAUTHENTICATED): check --token.", e);
        }
        catch (RpcException e)
        {
            throw new ImportFailedException($"the server at {_settings.Server} answered {e.StatusCode}: {e.Status.Detail} (run the import again to resume).", e);
        }
        finally
        {
            await client.StopAsync().ConfigureAwait(false);
            Elapsed.Stop();
        }
    }

    public void Dispose() => _acked.Dispose();

    /// <summary>Batches an interrupted run left in the queue are delivered now: their acks go to their row (samples or beat series).</summary>
    private async Task AttributeQueuedBatchesAsync(HealthSyncClient client, CancellationToken ct)
    {
        foreach (var batch in await client.GetQueuedBatchesAsync(null, 10_000, ct).ConfigureAwait(false))
        {
            if (batch.Status != QueuedBatchStatus.Quarantined && batch.SampleCount > 0
                && await client.GetQueuedBatchContentAsync(batch.Id, ct).ConfigureAwait(false) is { } content)
            {
                if (content.SampleSets is [var first, ..])
                {
                    _batchRows[batch.Id] = HealthKitTypes.NameOf(first.Type);
                }
                else if (content.Series.Count > 0)
                {
                    _batchRows[batch.Id] = BeatSeries.Row;
                }
            }
        }
    }

    private async ValueTask WaitForRoomAsync(CancellationToken ct)
    {
        while (_failure is null)
        {
            // Cheap enough per answer (a few thousand samples); the SDK counts what is pending or in flight.
            var status = await _client!.GetStatusAsync(ct).ConfigureAwait(false);
            if (status.PendingSamples <= MaxQueuedSamples)
            {
                return;
            }

            await _acked.WaitAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
        }
    }

    private void OnEvent(ExportSource source, SyncEvent e, CancellationTokenSource failed)
    {
        switch (e.Kind)
        {
            case SyncEventKind.Queued when e.SampleCount > 0 && source.LastAnswered is { } row && e.BatchId is { } id:
                _batchRows[id] = row;
                break;
            case SyncEventKind.Acked when e.Ack is { } ack:
                Count(RowOf(e.BatchId, ack), ack);
                if (_acked.CurrentCount == 0)
                {
                    _acked.Release();
                }

                break;
            case SyncEventKind.Quarantined when e.Ack is null:
                // Quarantined by the SDK itself (too large, or refused as a whole too often): not stored, with the reason.
                Tally[RowOf(e.BatchId, null)].AddRejected($"quarantined by the SDK: {e.Message}", e.SampleCount);
                break;
            case SyncEventKind.RetryScheduled:
                LastError = e.Message;
                break;
            case SyncEventKind.Connected:
                LastError = null;
                break;
            case SyncEventKind.Paused:
                Fail("the server refused the token (UNAUTHENTICATED): check --token.", failed);
                break;
            case SyncEventKind.Fenced:
                Fail($"device {DeviceId} is fenced by a newer epoch: {e.Message}", failed);
                break;
        }
    }

    private string RowOf(long? batchId, Ack? ack)
    {
        if (batchId is { } id && _batchRows.TryRemove(id, out var row))
        {
            return row;
        }

        return ack is { Accepted: 0, Duplicates: 0, Rejected: 0, Replaced: 0, IgnoredDeleted: 0 } ? "(anchors only)" : ImportTally.Unattributed;
    }

    private void Count(string row, Ack ack)
    {
        if (row == "(anchors only)")
        {
            return;
        }

        var tally = Tally[row];
        tally.AddStored(ack.Accepted + ack.Replaced);
        tally.AddDuplicates(ack.Duplicates);
        if (ack.IgnoredDeleted > 0)
        {
            tally.AddRejected("deleted on the server (its tombstone wins)", ack.IgnoredDeleted);
        }

        foreach (var rejection in ack.Rejections)
        {
            tally.AddRejected($"server: {rejection.Reason}");
        }

        if (ack.Rejected > ack.Rejections.Count)
        {
            tally.AddRejected("rejected, reason not listed", ack.Rejected - ack.Rejections.Count);
        }
    }

    private void Fail(string message, CancellationTokenSource failed)
    {
        _failure ??= message;
        try
        {
            failed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run already ended.
        }
    }
}
