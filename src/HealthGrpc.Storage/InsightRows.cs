using System.Data.Common;

namespace HealthGrpc.Storage;

/// <summary>
/// What every store shares about insights: the columns of an insight row (the same names and order on SQLite and
/// PostgreSQL) and how one maps to <see cref="InsightRecord"/>, and which writes make a user's open insights match the
/// current findings (<see cref="Plan"/>), so the providers differ only in how they take sequences and commit.
/// </summary>
internal static class InsightRows
{
    /// <summary>The columns <see cref="Read"/> maps, in its order (also read by the change-feed readers).</summary>
    public const string Columns = """
        id, insight_id, kind, severity, direction, data_type, code, message, period_start_ms, period_end_ms,
        start_value, end_value, change, average, unit, days_with_data, seq, created_ms, updated_ms, closed_ms, acknowledged_ms
        """;

    public static InsightRecord Read(DbDataReader r) => new(
        r.GetInt64(0),
        r.GetString(1),
        new InsightFinding(
            (InsightKind)r.GetInt32(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5), r.GetString(6), r.GetString(7),
            r.GetInt64(8), r.GetInt64(9), r.GetDouble(10), r.GetDouble(11), r.GetDouble(12), r.GetDouble(13), r.GetString(14), r.GetInt32(15)),
        r.GetInt64(16),
        r.GetInt64(17),
        r.GetInt64(18),
        r.IsDBNull(19) ? null : r.GetInt64(19),
        r.IsDBNull(20) ? null : r.GetInt64(20));

    /// <summary>When an insight's latest change happened: it is written outside ingest batches, so its own row says.</summary>
    public static DateTimeOffset ChangeTime(InsightRecord insight) =>
        DateTimeOffset.FromUnixTimeMilliseconds(Math.Max(insight.UpdatedUnixMs, insight.AcknowledgedUnixMs ?? 0));

    /// <summary>A new id for a raised insight.</summary>
    public static string NewInsightId() => "ins_" + Guid.NewGuid().ToString("N");

    /// <summary>Refuses findings with two of one kind (a user has at most one open insight per kind).</summary>
    public static void CheckFindings(IReadOnlyList<InsightFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        if (findings.Select(finding => finding.Kind).Distinct().Count() != findings.Count)
        {
            throw new ArgumentException("At most one finding per kind.", nameof(findings));
        }
    }

    /// <summary>
    /// The writes that make <paramref name="open"/> (the user's open insights, at most one per kind) match
    /// <paramref name="findings"/>, in the order they take sequences: the findings in their order (a raise, or an update
    /// when the open insight of the kind differs), then the closes. An unchanged insight is not written.
    /// </summary>
    public static List<InsightWrite> Plan(IEnumerable<InsightRecord> open, IReadOnlyList<InsightFinding> findings)
    {
        var byKind = open.ToDictionary(insight => insight.Finding.Kind);
        var writes = new List<InsightWrite>();
        foreach (var finding in findings)
        {
            if (!byKind.Remove(finding.Kind, out var current))
            {
                writes.Add(new InsightWrite(InsightWriteKind.Raise, null, finding));
            }
            else if (current.Finding != finding)
            {
                writes.Add(new InsightWrite(InsightWriteKind.Update, current, finding));
            }
        }

        writes.AddRange(byKind.Values.OrderBy(insight => insight.Id).Select(stale => new InsightWrite(InsightWriteKind.Close, stale, null)));
        return writes;
    }

    /// <summary>What the writes of <paramref name="writes"/> did, with the user's change sequence after them.</summary>
    public static InsightReconciliation Outcome(IReadOnlyList<InsightWrite> writes, long changeSequence) => new(
        writes.Count(w => w.Kind == InsightWriteKind.Raise),
        writes.Count(w => w.Kind == InsightWriteKind.Update),
        writes.Count(w => w.Kind == InsightWriteKind.Close),
        changeSequence);
}

internal enum InsightWriteKind
{
    Raise,
    Update,
    Close,
}

/// <summary>
/// One write of a reconciliation: raise <see cref="Finding"/>; update <see cref="Current"/> to it; or close
/// <see cref="Current"/>.
/// </summary>
internal sealed record InsightWrite(InsightWriteKind Kind, InsightRecord? Current, InsightFinding? Finding)
{
    /// <summary>
    /// A new code or severity is a new condition worth the user's attention: an update drops the acknowledgement.
    /// </summary>
    public bool DropsAcknowledgement =>
        Kind == InsightWriteKind.Update && (Current!.Finding.Code != Finding!.Code || Current.Finding.Severity != Finding.Severity);
}
