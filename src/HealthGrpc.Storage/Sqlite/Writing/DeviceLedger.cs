using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// The per-device exactly-once bookkeeping of the writer: evaluates a batch's <c>(device, epoch, batch_seq)</c>
/// against the stored high-water marks (fenced, duplicate with its stored ack, gap, or next), advances the device and
/// epoch when it applies, and stores the batch row with its ack and the anchors it carried.
/// </summary>
internal sealed class DeviceLedger
{
    private readonly SqliteCommand _selectDevice, _insertDevice, _updateDevice, _upsertEpoch, _selectAck, _insertBatch, _upsertAnchor;

    public DeviceLedger(WriterStatements statements)
    {
        _selectDevice = statements.Prepare(
            """
            SELECT d.id, d.newest_epoch,
                   (SELECT high_water_mark FROM device_epochs WHERE device_ref = d.id AND epoch = $epoch)
            FROM devices d WHERE d.user_ref = $user AND d.device_id = $device
            """,
            ("$user", SqliteType.Integer), ("$device", SqliteType.Text), ("$epoch", SqliteType.Integer));
        _insertDevice = statements.Prepare(
            "INSERT INTO devices (user_ref, device_id, newest_epoch, last_commit_ms) VALUES ($user, $device, $epoch, $now) RETURNING id",
            ("$user", SqliteType.Integer), ("$device", SqliteType.Text), ("$epoch", SqliteType.Integer), ("$now", SqliteType.Integer));
        _updateDevice = statements.Prepare(
            "UPDATE devices SET newest_epoch = $epoch, last_commit_ms = $now WHERE id = $id",
            ("$epoch", SqliteType.Integer), ("$now", SqliteType.Integer), ("$id", SqliteType.Integer));
        _upsertEpoch = statements.Prepare(
            """
            INSERT INTO device_epochs (device_ref, epoch, high_water_mark) VALUES ($id, $epoch, $hwm)
            ON CONFLICT (device_ref, epoch) DO UPDATE SET high_water_mark = excluded.high_water_mark
            """,
            ("$id", SqliteType.Integer), ("$epoch", SqliteType.Integer), ("$hwm", SqliteType.Integer));
        _selectAck = statements.Prepare(
            "SELECT ack FROM batches WHERE device_ref = $id AND epoch = $epoch AND batch_seq = $seq",
            ("$id", SqliteType.Integer), ("$epoch", SqliteType.Integer), ("$seq", SqliteType.Integer));
        _insertBatch = statements.Prepare(
            """
            INSERT INTO batches (device_ref, epoch, batch_seq, user_ref, change_seq, commit_ms, rejected_atomic, ack)
            VALUES ($id, $epoch, $seq, $user, $changeSeq, $now, $rejectedAtomic, $ack)
            """,
            ("$id", SqliteType.Integer), ("$epoch", SqliteType.Integer), ("$seq", SqliteType.Integer), ("$user", SqliteType.Integer),
            ("$changeSeq", SqliteType.Integer), ("$now", SqliteType.Integer), ("$rejectedAtomic", SqliteType.Integer), ("$ack", SqliteType.Blob));
        _upsertAnchor = statements.Prepare(
            """
            INSERT INTO anchors (device_ref, type, vendor_type, epoch, batch_seq, anchor) VALUES ($id, $type, $vendor, $epoch, $seq, $anchor)
            ON CONFLICT (device_ref, type, vendor_type) DO UPDATE SET
                epoch = excluded.epoch, batch_seq = excluded.batch_seq, anchor = excluded.anchor
            """,
            ("$id", SqliteType.Integer), ("$type", SqliteType.Integer), ("$vendor", SqliteType.Text), ("$epoch", SqliteType.Integer),
            ("$seq", SqliteType.Integer), ("$anchor", SqliteType.Blob));
    }

    /// <summary>
    /// What the stored state says about the batch: an outcome that ends it here (fenced, duplicate, gap), or null when
    /// it is the device's next batch (<paramref name="deviceRef"/> is then the device's id, null for a new device).
    /// </summary>
    public CommitOutcome? Evaluate(IngestBatch batch, long userRef, out long? deviceRef, out ulong newestEpoch)
    {
        var epoch = unchecked((long)batch.Epoch);
        deviceRef = null;
        newestEpoch = 0;
        ulong hwm = 0;
        _selectDevice.Bind("$user", userRef);
        _selectDevice.Bind("$device", batch.DeviceId);
        _selectDevice.Bind("$epoch", epoch);
        using (var reader = _selectDevice.ExecuteReader())
        {
            if (reader.Read())
            {
                deviceRef = reader.GetInt64(0);
                newestEpoch = unchecked((ulong)reader.GetInt64(1));
                hwm = reader.IsDBNull(2) ? 0 : unchecked((ulong)reader.GetInt64(2));
            }
        }

        if (batch.Epoch < newestEpoch)
        {
            // The high-water mark of the batch's own epoch, as GetDeviceStateAsync reports it for Hello.
            return new CommitOutcome.EpochFenced(newestEpoch, hwm);
        }

        if (batch.BatchSeq <= hwm)
        {
            _selectAck.Bind("$id", deviceRef!.Value);
            _selectAck.Bind("$epoch", epoch);
            _selectAck.Bind("$seq", unchecked((long)batch.BatchSeq));
            return new CommitOutcome.Duplicate(_selectAck.ExecuteScalar() as byte[] ?? [], hwm);
        }

        return batch.BatchSeq != hwm + 1 ? new CommitOutcome.SequenceGap(hwm) : null;
    }

    /// <summary>Registers the batch as the device's (and epoch's) newest; returns the device id (created for a new device).</summary>
    public long Advance(IngestBatch batch, long userRef, long? deviceRef, ulong newestEpoch, long nowMs)
    {
        var epoch = unchecked((long)batch.Epoch);
        long id;
        if (deviceRef is { } existing)
        {
            id = existing;
            _updateDevice.Bind("$epoch", unchecked((long)Math.Max(newestEpoch, batch.Epoch)));
            _updateDevice.Bind("$now", nowMs);
            _updateDevice.Bind("$id", id);
            _updateDevice.ExecuteNonQuery();
        }
        else
        {
            _insertDevice.Bind("$user", userRef);
            _insertDevice.Bind("$device", batch.DeviceId);
            _insertDevice.Bind("$epoch", epoch);
            _insertDevice.Bind("$now", nowMs);
            id = (long)_insertDevice.ExecuteScalar()!;
        }

        _upsertEpoch.Bind("$id", id);
        _upsertEpoch.Bind("$epoch", epoch);
        _upsertEpoch.Bind("$hwm", unchecked((long)batch.BatchSeq));
        _upsertEpoch.ExecuteNonQuery();
        return id;
    }

    public void StoreAnchors(IngestBatch batch, long deviceRef)
    {
        foreach (var anchor in batch.Anchors)
        {
            _upsertAnchor.Bind("$id", deviceRef);
            _upsertAnchor.Bind("$type", anchor.Type);
            _upsertAnchor.Bind("$vendor", anchor.VendorType ?? string.Empty);
            _upsertAnchor.Bind("$epoch", unchecked((long)batch.Epoch));
            _upsertAnchor.Bind("$seq", unchecked((long)batch.BatchSeq));
            _upsertAnchor.Bind("$anchor", anchor.Anchor);
            _upsertAnchor.ExecuteNonQuery();
        }
    }

    /// <summary>Stores the batch row: its ack (returned byte-identical to a replay) and the user's change sequence after it (the change feed's commit times).</summary>
    public void StoreBatch(IngestBatch batch, BatchScope scope, bool rejectedAtomic, long nowMs, byte[] ack)
    {
        _insertBatch.Bind("$id", scope.DeviceRef);
        _insertBatch.Bind("$epoch", unchecked((long)batch.Epoch));
        _insertBatch.Bind("$seq", unchecked((long)batch.BatchSeq));
        _insertBatch.Bind("$user", scope.UserRef);
        _insertBatch.Bind("$changeSeq", scope.Sequence);
        _insertBatch.Bind("$now", nowMs);
        _insertBatch.Bind("$rejectedAtomic", rejectedAtomic ? 1L : 0L);
        _insertBatch.Bind("$ack", ack);
        _insertBatch.ExecuteNonQuery();
    }
}
