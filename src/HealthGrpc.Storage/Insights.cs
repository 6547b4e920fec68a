namespace HealthGrpc.Storage;

/// <summary>What an insight is about (the numbers of the contract's InsightKind).</summary>
public enum InsightKind
{
    RestingHeartRateTrend = 1,
    SleepDeficit = 2,
    ActivityChange = 3,
    HrvDrop = 4,
}

/// <summary>
/// A condition that holds now, as the insight computation found it: at most one per kind and user. Severity and
/// direction use the contract's numbers (InsightSeverity, InsightDirection); figures are in <see cref="Unit"/>.
/// </summary>
public sealed record InsightFinding(
    InsightKind Kind,
    int Severity,
    int Direction,
    int DataType,
    string Code,
    string Message,
    long PeriodStartUnixMs,
    long PeriodEndUnixMs,
    double StartValue,
    double EndValue,
    double Change,
    double Average,
    string Unit,
    int DaysWithData);

/// <summary>A stored insight: a finding with its identity, its change-feed sequence and its life cycle.</summary>
public sealed record InsightRecord(
    long Id,
    string InsightId,
    InsightFinding Finding,
    long Sequence,
    long CreatedUnixMs,
    long UpdatedUnixMs,
    long? ClosedUnixMs,
    long? AcknowledgedUnixMs);

/// <summary>
/// Which insights to list: newest first (by id, which follows creation), ids below <see cref="BeforeId"/> when set,
/// only open ones unless <see cref="IncludeClosed"/>, only those of <see cref="Kinds"/> when not empty.
/// </summary>
public sealed record InsightQuery(
    string UserId,
    bool UnacknowledgedOnly,
    bool IncludeClosed,
    IReadOnlyList<InsightKind> Kinds,
    long? BeforeId,
    int Limit);

/// <summary>What storing a user's current findings did: insights raised, updated and closed, and the user's change sequence after it.</summary>
public sealed record InsightReconciliation(int Raised, int Updated, int Closed, long ChangeSequence)
{
    public bool Changed => Raised + Updated + Closed > 0;
}
