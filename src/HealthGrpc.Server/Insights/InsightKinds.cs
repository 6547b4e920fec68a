using HealthGrpc.Contracts.V1;
using StoredKind = HealthGrpc.Storage.InsightKind;

namespace HealthGrpc.Server.Insights;

/// <summary>The data type each insight kind is computed from: what a grant must cover for a grantee to see it.</summary>
internal static class InsightKinds
{
    public static readonly IReadOnlyList<StoredKind> All =
        [StoredKind.RestingHeartRateTrend, StoredKind.SleepDeficit, StoredKind.ActivityChange, StoredKind.HrvDrop];

    public static DataType DataTypeOf(StoredKind kind) => kind switch
    {
        StoredKind.RestingHeartRateTrend => DataType.RestingHeartRate,
        StoredKind.SleepDeficit => DataType.SleepAnalysis,
        StoredKind.ActivityChange => DataType.Steps,
        StoredKind.HrvDrop => DataType.HeartRateVariabilitySdnn,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an insight kind."),
    };
}
