using Microsoft.Extensions.Logging;

namespace HealthGrpc.Client;

/// <summary>
/// Every <see cref="SyncEvent"/> also goes to the app's <see cref="ILogger"/> (<see cref="HealthSyncOptions.LoggerFactory"/>):
/// the steady traffic (queued, sent, acked, anchors) at Debug, connections and restores at Information, what needs a
/// look (retries, quarantine, pauses, fencing) at Warning. Messages carry counts and ids, never sample values.
/// </summary>
internal static partial class SyncEventLog
{
    public static void Write(ILogger logger, SyncEvent e)
    {
        var level = LevelOf(e.Kind);
        if (!logger.IsEnabled(level))
        {
            return;
        }

        Event(logger, level, e.Kind, e.BatchId, e.BatchSeq, e.Tier, e.SampleCount, e.Message, e.Error);
    }

    internal static LogLevel LevelOf(SyncEventKind kind) => kind switch
    {
        SyncEventKind.Queued or SyncEventKind.Sent or SyncEventKind.Acked or SyncEventKind.AnchorCommitted => LogLevel.Debug,
        SyncEventKind.Connected or SyncEventKind.Restored or SyncEventKind.Resumed or SyncEventKind.Renumbered or SyncEventKind.QuarantinePurged => LogLevel.Information,
        _ => LogLevel.Warning,
    };

    [LoggerMessage(EventId = 1, Message = "Sync {Kind}: batch {BatchId}, seq {BatchSeq}, tier {Tier}, {Items} items. {Detail}")]
    private static partial void Event(ILogger logger, LogLevel level, SyncEventKind kind, long? batchId, ulong? batchSeq, SyncTier? tier, int items, string? detail, Exception? error);
}
