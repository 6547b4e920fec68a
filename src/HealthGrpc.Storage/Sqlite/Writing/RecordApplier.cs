using Microsoft.Data.Sqlite;

namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>Versioned documents, last-write-wins on <c>(user, record_type, record_id)</c>: a higher version replaces the stored one (and takes a new sequence), lower or equal is a duplicate.</summary>
internal sealed class RecordApplier
{
    private readonly BatchScope _scope;
    private readonly SqliteCommand _selectRecord, _insertRecord, _updateRecord;

    public RecordApplier(WriterStatements statements, BatchScope scope)
    {
        _scope = scope;
        _selectRecord = statements.Prepare(
            "SELECT version FROM records WHERE user_ref = $user AND record_type = $recordType AND record_id = $recordId",
            ("$user", SqliteType.Integer), ("$recordType", SqliteType.Text), ("$recordId", SqliteType.Text));
        (string, SqliteType)[] columns =
        [
            ("$user", SqliteType.Integer), ("$recordType", SqliteType.Text), ("$recordId", SqliteType.Text), ("$version", SqliteType.Integer),
            ("$deleted", SqliteType.Integer), ("$contentType", SqliteType.Text), ("$payload", SqliteType.Blob), ("$modified", SqliteType.Integer),
            ("$device", SqliteType.Integer), ("$seq", SqliteType.Integer),
        ];
        _insertRecord = statements.Prepare(
            """
            INSERT INTO records (user_ref, record_type, record_id, version, deleted, content_type, payload, modified_ms, device_ref, seq)
            VALUES ($user, $recordType, $recordId, $version, $deleted, $contentType, $payload, $modified, $device, $seq)
            """,
            columns);
        _updateRecord = statements.Prepare(
            """
            UPDATE records SET version = $version, deleted = $deleted, content_type = $contentType, payload = $payload,
                               modified_ms = $modified, device_ref = $device, seq = $seq
            WHERE user_ref = $user AND record_type = $recordType AND record_id = $recordId
            """,
            columns);
    }

    public void Apply(IReadOnlyList<DocumentRecord> records)
    {
        var scope = _scope;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            _selectRecord.Bind("$user", scope.UserRef);
            _selectRecord.Bind("$recordType", record.RecordType);
            _selectRecord.Bind("$recordId", record.RecordId);
            SqliteCommand command;
            if (_selectRecord.ExecuteScalar() is long storedVersion)
            {
                if (record.Version <= unchecked((ulong)storedVersion))
                {
                    scope.Duplicates++;
                    continue;
                }

                command = _updateRecord;
                scope.Replaced++;
            }
            else
            {
                command = _insertRecord;
                scope.Accepted++;
            }

            command.Bind("$user", scope.UserRef);
            command.Bind("$recordType", record.RecordType);
            command.Bind("$recordId", record.RecordId);
            command.Bind("$version", unchecked((long)record.Version));
            command.Bind("$deleted", record.Deleted ? 1L : 0L);
            command.Bind("$contentType", record.ContentType);
            command.Bind("$payload", record.Deleted ? Array.Empty<byte>() : record.Payload);
            command.Bind("$modified", record.ModifiedUnixMs);
            command.Bind("$device", scope.DeviceRef);
            command.Bind("$seq", scope.TakeSequence());
            command.ExecuteNonQuery();
        }
    }
}
