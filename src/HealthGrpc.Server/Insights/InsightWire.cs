using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Insights;

/// <summary>Stored insights to the wire <see cref="Insight"/>.</summary>
internal static class InsightWire
{
    public static Insight ToWire(InsightRecord insight)
    {
        var finding = insight.Finding;
        var wire = new Insight
        {
            InsightId = insight.InsightId,
            Kind = (Contracts.V1.InsightKind)finding.Kind,
            Severity = (InsightSeverity)finding.Severity,
            Direction = (InsightDirection)finding.Direction,
            DataType = (DataType)finding.DataType,
            Code = finding.Code,
            Message = finding.Message,
            PeriodStart = StoredItemWire.Time(finding.PeriodStartUnixMs),
            PeriodEnd = StoredItemWire.Time(finding.PeriodEndUnixMs),
            StartValue = finding.StartValue,
            EndValue = finding.EndValue,
            Change = finding.Change,
            Average = finding.Average,
            Unit = finding.Unit,
            DaysWithData = (uint)finding.DaysWithData,
            CreatedTime = StoredItemWire.Time(insight.CreatedUnixMs),
            UpdatedTime = StoredItemWire.Time(insight.UpdatedUnixMs),
        };
        if (insight.ClosedUnixMs is { } closed)
        {
            wire.ClosedTime = StoredItemWire.Time(closed);
        }

        if (insight.AcknowledgedUnixMs is { } acknowledged)
        {
            wire.AcknowledgedTime = StoredItemWire.Time(acknowledged);
        }

        return wire;
    }
}
