using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>The SDK's delivery tiers (see ARCHITECTURE.md, "Client SDK tiers"). Lower values are sent first.</summary>
public enum SyncTier
{
    /// <summary>Tier 1: enqueued durably, then sent at once with quick retries (HRV, ECG, sleep, resting heart rate, exercise time, urgent readings).</summary>
    Immediate = 1,

    /// <summary>Tier 2: one atomic batch of all tier-2 types since their anchors (heart rate, steps, distance, energy).</summary>
    Batch = 2,

    /// <summary>Tier 3: catch-up re-reads (the server deduplicates them); sent after everything else.</summary>
    CatchUp = 3,
}

/// <summary>Default tier of each data type, and the wire <see cref="Priority"/> of a tier.</summary>
public static class SyncTiers
{
    /// <summary>The default tier of <paramref name="type"/>: tier 1 for HRV, ECG, sleep, resting heart rate and exercise time; tier 2 otherwise.</summary>
    public static SyncTier DefaultFor(DataType type) => type switch
    {
        DataType.HeartRateVariabilitySdnn or DataType.Ecg or DataType.SleepAnalysis
            or DataType.RestingHeartRate or DataType.ExerciseTime => SyncTier.Immediate,
        _ => SyncTier.Batch,
    };

    /// <summary>The <see cref="Priority"/> sent in <see cref="Batch.Priority"/> for <paramref name="tier"/>.</summary>
    public static Priority ToPriority(SyncTier tier) => tier switch
    {
        SyncTier.Immediate => Priority.Immediate,
        SyncTier.Batch => Priority.Batch,
        _ => Priority.CatchUp,
    };
}
