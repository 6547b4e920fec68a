using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>The rest of the model through the push API: series, waveforms, records (versioned by the SDK) and deletions.</summary>
public sealed partial class HealthSyncClient
{
    /// <summary>Most bytes of a record's payload the server accepts (256 KiB).</summary>
    public const int MaxRecordPayloadBytes = 256 * 1024;

    /// <summary>
    /// Push API for any content (samples, packed series, waveform chunks, deletions, records): stored durably in one
    /// transaction, split into batches of at most <see cref="HealthSyncOptions.MaxSamplesPerBatch"/> items. Samples and
    /// series without a uuid get a new random one here, so that resends deduplicate.
    /// </summary>
    /// <param name="content">What to send.</param>
    /// <param name="tier">The tier; null: the most urgent tier of the content's data types (records and deletions alone: tier 2).</param>
    /// <param name="cancellationToken">Cancels the enqueue (nothing stored when cancelled before the commit).</param>
    /// <exception cref="ArgumentException">A waveform chunk or a record lacks its id, or a record is malformed.</exception>
    /// <exception cref="QueueFullException">The queue bounds would be exceeded; nothing was stored.</exception>
    public Task<EnqueueResult> EnqueueContentAsync(HealthContent content, SyncTier? tier = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        AssignMissingUuids([.. content.SampleSets]);
        foreach (var series in content.Series)
        {
            ArgumentNullException.ThrowIfNull(series);
            if (series.Uuid.IsEmpty)
            {
                series.Uuid = SampleUuid.ToByteString(Guid.CreateVersion7());
            }
        }

        foreach (var chunk in content.Waveforms)
        {
            ArgumentNullException.ThrowIfNull(chunk);
            if (chunk.Uuid.Length != SampleUuid.Length)
            {
                // The chunks of a recording share its uuid: the SDK cannot invent one per chunk.
                throw new ArgumentException("Every waveform chunk needs the recording's 16-byte uuid (see WaveformEncoder).", nameof(content));
            }
        }

        foreach (var record in content.Records)
        {
            CheckRecord(record, requireVersion: true);
        }

        return EnqueueCoreAsync(content, null, tier ?? TierOf(content), atomic: false, null, cancellationToken);
    }

    /// <summary>
    /// Saves a version of a record (a session, a survey answer, a progression): the app's own <paramref name="recordId"/>
    /// names it, so saving the same id again (an edit, a retry, a second tap) updates that one record instead of creating
    /// another. The SDK gives it a version that is higher than every earlier one it gave this record (the current time in
    /// milliseconds, or one more), and the server keeps the highest version: last write wins.
    /// </summary>
    /// <param name="recordType">Namespaced type ("com.example/session"): 1..128 characters with a "/".</param>
    /// <param name="recordId">The app's stable id of the record (e.g. a uuid made when the session started), 1..256 characters.</param>
    /// <param name="payload">The document, at most <see cref="MaxRecordPayloadBytes"/>.</param>
    /// <param name="contentType">Media type of the payload.</param>
    /// <param name="modifiedTime">When the app changed it; null: now.</param>
    /// <param name="cancellationToken">Cancels the save (nothing stored when cancelled before the commit).</param>
    /// <returns>The version given, and the queued batch.</returns>
    public Task<RecordSaveResult> SaveRecordAsync(
        string recordType, string recordId, ReadOnlyMemory<byte> payload, string contentType = "application/json",
        DateTimeOffset? modifiedTime = null, CancellationToken cancellationToken = default) =>
        SaveRecordCoreAsync(recordType, recordId, ByteString.CopyFrom(payload.Span), contentType, deleted: false, modifiedTime, cancellationToken);

    /// <summary>Deletes a record: a new version of it marked deleted (it wins over older versions like any other).</summary>
    public Task<RecordSaveResult> DeleteRecordAsync(string recordType, string recordId, CancellationToken cancellationToken = default) =>
        SaveRecordCoreAsync(recordType, recordId, ByteString.Empty, "", deleted: true, null, cancellationToken);

    /// <summary>
    /// Deletes samples, series or waveforms by uuid (they need not have reached the server yet): the tombstones win over
    /// any later upload of the same uuids.
    /// </summary>
    public Task<EnqueueResult> DeleteAsync(IEnumerable<Guid> uuids, DateTimeOffset? deletedTime = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uuids);
        var content = new HealthContent();
        var at = Timestamp.FromDateTimeOffset(deletedTime ?? _options.TimeProvider.GetUtcNow());
        foreach (var uuid in uuids)
        {
            content.Deletions.Add(new Deletion { Uuid = SampleUuid.ToByteString(uuid), DeletedTime = at });
        }

        return EnqueueCoreAsync(content, null, SyncTier.Batch, atomic: false, null, cancellationToken);
    }

    private async Task<RecordSaveResult> SaveRecordCoreAsync(
        string recordType, string recordId, ByteString payload, string contentType, bool deleted, DateTimeOffset? modifiedTime, CancellationToken ct)
    {
        var record = new Record
        {
            RecordType = recordType ?? "",
            RecordId = recordId ?? "",
            ContentType = contentType ?? "",
            Payload = payload,
            Deleted = deleted,
            ModifiedTime = Timestamp.FromDateTimeOffset(modifiedTime ?? _options.TimeProvider.GetUtcNow()),
        };
        CheckRecord(record, requireVersion: false);
        var content = new HealthContent();
        content.Records.Add(record);
        var batches = BatchBuilder.Split(content, null, SyncTier.Batch, atomic: false, _options.MaxSamplesPerBatch);
        var enqueue = await EnqueueBatchesAsync(batches, SyncTier.Batch, null, ct, async (tx, token) =>
            record.Version = await _store.NextRecordVersionAsync(tx, record.RecordType, record.RecordId, token).ConfigureAwait(false)).ConfigureAwait(false);
        return new RecordSaveResult(record.RecordType, record.RecordId, record.Version, enqueue);
    }

    private static void CheckRecord(Record record, bool requireVersion)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.RecordType.Length is 0 or > 128 || !record.RecordType.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A record type is 1..128 characters with a \"/\" (\"com.example/session\"), not \"{record.RecordType}\".", nameof(record));
        }

        if (record.RecordId.Length is 0 or > 256)
        {
            throw new ArgumentException($"A record id is 1..256 characters; got {record.RecordId.Length}.", nameof(record));
        }

        if (record.Payload.Length > MaxRecordPayloadBytes)
        {
            throw new ArgumentException($"A record's payload is at most {MaxRecordPayloadBytes} bytes; got {record.Payload.Length}.", nameof(record));
        }

        if (requireVersion && record.Version == 0)
        {
            throw new ArgumentException($"Record {record.RecordType}/{record.RecordId} has no version (>= 1); SaveRecordAsync assigns one.", nameof(record));
        }
    }

    private SyncTier TierOf(HealthContent content)
    {
        var tier = SyncTier.Batch;
        foreach (var type in content.Types())
        {
            if (_options.TierOf(type) < tier)
            {
                tier = _options.TierOf(type);
            }
        }

        return tier;
    }
}

/// <summary>The answer of <see cref="HealthSyncClient.SaveRecordAsync"/>.</summary>
/// <param name="RecordType">The record's type.</param>
/// <param name="RecordId">The record's id.</param>
/// <param name="Version">The version the SDK gave this save.</param>
/// <param name="Enqueue">The queued batch.</param>
public sealed record RecordSaveResult(string RecordType, string RecordId, ulong Version, EnqueueResult Enqueue);
