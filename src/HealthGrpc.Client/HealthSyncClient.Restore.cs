using System.Globalization;
using Grpc.Core;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>The first contact of a new local store: its epoch and the server's committed anchors (<c>GetCheckpoint</c>).</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>
    /// A new local store decides its epoch and restores the committed anchors from the server, exactly once, at the first
    /// contact (the store collects and enqueues offline before it). When the server holds anchors of this device (a
    /// reinstall), the batches collected before the contact read their sources from the beginning: they are dropped with
    /// their read positions, and the sources are read again from the restored anchors, so committed history is not re-sent.
    /// </summary>
    private async Task<DeviceRow> EnsureRestoredAsync(CancellationToken ct)
    {
        var device = (await _store.GetDeviceAsync(ct).ConfigureAwait(false))!;
        if (device.Restored)
        {
            return device;
        }

        await _restoreLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            device = (await _store.GetDeviceAsync(ct).ConfigureAwait(false))!;
            if (device.Restored)
            {
                return device;
            }

            var token = await GetTokenAsync(false, ct).ConfigureAwait(false);
            ulong epoch = 1;
            var anchors = new List<SourceAnchor>();
            try
            {
                var checkpoint = await _connection.Client.GetCheckpointAsync(
                    new GetCheckpointRequest { DeviceId = device.DeviceId },
                    new CallOptions(AuthHeaders(token), DateTime.UtcNow + _options.AckTimeout, ct)).ResponseAsync.ConfigureAwait(false);
                epoch = checkpoint.Device.Epoch + 1;
                anchors.AddRange(checkpoint.Anchors);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // The device never synced: epoch 1, nothing to restore.
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
            {
                throw new UnauthenticatedSyncException(token, e);
            }

            // A collect running now read from the pre-restore positions: the restore waits for it, and the next collect
            // starts from the restored anchors.
            await _collectLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var dropped = await _store.CompleteRestoreAsync(epoch, anchors, ct).ConfigureAwait(false);
                Emit(new SyncEvent
                {
                    Kind = SyncEventKind.Restored,
                    SampleCount = dropped,
                    Message = string.Create(CultureInfo.InvariantCulture,
                        $"epoch {epoch}, {anchors.Count} anchors restored; {dropped} items collected before the first contact are read again from them"),
                });
                foreach (var a in anchors)
                {
                    Emit(new SyncEvent { Kind = SyncEventKind.AnchorCommitted, Anchor = a, Message = "restored from checkpoint" });
                }

                if (dropped > 0)
                {
                    await CollectLockedAsync(ct).ConfigureAwait(false);
                }
            }
            finally
            {
                _collectLock.Release();
            }

            return (await _store.GetDeviceAsync(ct).ConfigureAwait(false))!;
        }
        finally
        {
            _restoreLock.Release();
        }
    }
}
