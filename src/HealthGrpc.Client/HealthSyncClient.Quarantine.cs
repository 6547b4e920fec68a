
namespace HealthGrpc.Client;

/// <summary>The quarantine as the app sees it: reading, exporting and retrying it.</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>
    /// The quarantine, oldest first: what the SDK holds instead of delivering, each with its reason (and the server's
    /// reason code for a rejected item). Page with <paramref name="afterId"/> (the last <see cref="QuarantinedItem.Id"/> seen).
    /// </summary>
    public Task<IReadOnlyList<QuarantinedItem>> GetQuarantineAsync(long afterId = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _store.GetQuarantineAsync(afterId, limit, cancellationToken);
    }

    /// <summary>
    /// Writes the whole quarantine to <paramref name="destination"/> as JSON lines (UTF-8), one object per quarantined
    /// batch: <c>id</c>, <c>tier</c>, <c>items</c>, <c>reason</c>, <c>rejectReason</c>, <c>enqueuedAt</c>,
    /// <c>quarantinedAt</c> and <c>content</c> (the batch in the protobuf JSON mapping). Returns how many were written.
    /// </summary>
    public Task<int> ExportQuarantineAsync(Stream destination, CancellationToken cancellationToken = default) =>
        QuarantineExport.WriteAsync(_store, destination, cancellationToken);

    /// <summary>
    /// Moves every quarantined batch back to pending so that it is sent again (e.g. after an app or server update fixed
    /// the cause). A rejected item is rejected again unless the cause is gone, and quarantined again: no loop. Returns how many.
    /// </summary>
    public async Task<int> RetryQuarantinedAsync(CancellationToken cancellationToken = default)
    {
        var n = await _store.RetryQuarantinedAsync(cancellationToken).ConfigureAwait(false);
        Kick();
        return n;
    }
}
