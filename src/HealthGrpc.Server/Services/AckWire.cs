using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

/// <summary>The one mapping of ingest results to the wire: Ack (also the bytes stored with a batch), Welcome, anchors.</summary>
internal static class AckWire
{
    /// <summary>The stored form of a committed batch's ack (<see cref="StoredAckEncoder"/>).</summary>
    public static byte[] Encode(string ownerUserId, CommitResult result, IReadOnlyList<ItemRejection> rejections) =>
        Committed(ownerUserId, result, rejections).ToByteArray();

    public static Ack ToAck(BatchOutcome outcome) => outcome switch
    {
        BatchOutcome.Committed committed => Committed(committed.OwnerUserId, committed.Result, committed.Rejections),
        BatchOutcome.Duplicate duplicate => Duplicate(duplicate),
        _ => throw new InvalidOperationException($"Unknown batch outcome {outcome.GetType().Name}."),
    };

    public static Welcome ToWelcome(DeviceWelcome welcome, IngestLimits limits) => new()
    {
        HighWaterMark = welcome.HighWaterMark,
        ServerTime = Timestamp.FromDateTimeOffset(welcome.ServerTime),
        Limits = new Contracts.V1.Limits
        {
            MaxSamplesPerBatch = (uint)limits.MaxSamplesPerBatch,
            MaxBatchesInFlight = (uint)limits.MaxBatchesInFlight,
            MaxMessageBytes = (uint)limits.MaxMessageBytes,
            MaxPointsPerSeries = (uint)limits.MaxPointsPerSeries,
        },
    };

    public static SourceAnchor ToWire(AnchorRecord anchor) => new()
    {
        Type = (DataType)anchor.Type,
        VendorType = anchor.VendorType ?? string.Empty,
        Anchor = ByteString.CopyFrom(anchor.Anchor),
    };

    /// <summary>The original ack, flagged duplicate with the current high-water mark (a bare one when it was compacted away).</summary>
    private static Ack Duplicate(BatchOutcome.Duplicate duplicate)
    {
        var ack = duplicate.StoredAck.Length > 0 ? Ack.Parser.ParseFrom(duplicate.StoredAck) : new Ack { BatchSeq = duplicate.BatchSeq };
        ack.Outcome = AckOutcome.Duplicate;
        ack.HighWaterMark = duplicate.HighWaterMark;
        return ack;
    }

    private static Ack Committed(string ownerUserId, CommitResult result, IReadOnlyList<ItemRejection> rejections)
    {
        var ack = new Ack
        {
            BatchSeq = result.BatchSeq,
            Outcome = result.RejectedAtomic ? AckOutcome.Rejected : AckOutcome.Committed,
            Accepted = (uint)result.Accepted,
            Duplicates = (uint)result.Duplicates,
            Replaced = (uint)result.Replaced,
            IgnoredDeleted = (uint)result.IgnoredDeleted,
            Rejected = (uint)result.Rejected,
            HighWaterMark = result.HighWaterMark,
            CommitTime = Timestamp.FromDateTimeOffset(result.CommitTime),
            ChangeToken = ChangeToken.Format(ownerUserId, result.ChangeSequence),
        };
        foreach (var rejection in rejections)
        {
            ack.Rejections.Add(new Rejection
            {
                Kind = rejection.Kind,
                Index = (uint)rejection.Index,
                Reason = rejection.Problem.Reason,
                Message = rejection.Problem.Message,
            });
        }

        foreach (var anchor in result.CommittedAnchors)
        {
            ack.CommittedAnchors.Add(ToWire(anchor));
        }

        return ack;
    }
}
