using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.ChangeFeed;

/// <summary>Change-feed domain records to the wire <see cref="Change"/>.</summary>
internal static class ChangeMapper
{
    public static Change ToWire(ChangeRecord change)
    {
        var wire = new Change
        {
            Sequence = unchecked((ulong)change.Sequence),
            CommitTime = Timestamp.FromDateTimeOffset(change.CommitTime),
        };
        switch (change.Kind)
        {
            case ChangeKind.Sample:
                wire.Sample = StoredItemWire.ToWire(change.Sample!, change.DeviceId);
                break;
            case ChangeKind.Series:
                // The store keeps the canonical Series message as sent (units converted): it is the wire form.
                wire.Series = Series.Parser.ParseFrom(change.Series!.Payload);
                break;
            case ChangeKind.Waveform:
                wire.Waveform = Waveform.Parser.ParseFrom(change.Waveform!.Payload);
                break;
            case ChangeKind.Deletion:
            case ChangeKind.SampleReplaced:
                // A replaced sample is published as the deletion of its old uuid, at the commit that replaced it.
                wire.Deletion = new Deletion
                {
                    Uuid = SampleUuid.ToByteString(change.Deletion!.Uuid),
                    DeletedTime = StoredItemWire.Time(change.Deletion.DeletedUnixMs),
                };
                break;
            case ChangeKind.Record:
                wire.Record = ToWire(change.Record!, change.DeviceId);
                break;
            case ChangeKind.Insight:
                wire.Insight = Insights.InsightWire.ToWire(change.Insight!);
                break;
            default:
                throw new InvalidOperationException($"Change {change.Sequence} has unknown kind {change.Kind}.");
        }

        return wire;
    }

    private static StoredRecord ToWire(DocumentRecord record, string deviceId) => new()
    {
        Record = new Record
        {
            RecordType = record.RecordType,
            RecordId = record.RecordId,
            Version = record.Version,
            ContentType = record.ContentType,
            Payload = ByteString.CopyFrom(record.Payload),
            Deleted = record.Deleted,
            ModifiedTime = StoredItemWire.Time(record.ModifiedUnixMs),
        },
        DeviceId = deviceId,
    };
}
