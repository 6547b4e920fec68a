using System.Collections.Frozen;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Import;

/// <summary>How one HealthKit identifier of an export travels: its <see cref="DataType"/>, and for quantities the unit fix.</summary>
/// <param name="Type">The protocol's data type.</param>
/// <param name="FractionPercent">HealthKit writes "%" quantities as fractions (0.97): they travel with unit "1", which the server converts.</param>
internal sealed record HealthKitMapping(DataType Type, bool FractionPercent = false);

/// <summary>
/// The one table from HealthKit identifiers (as an Apple Health export.xml spells them) to the protocol's types, units and
/// category values. One identifier per <see cref="DataType"/>, so the server's content id (derived from the data type) never
/// merges two HealthKit types, and a batch's type names its HealthKit identifier in the summary.
/// </summary>
internal static class HealthKitTypes
{
    /// <summary>Summary row of the Workout elements (a workout has no HKQuantityType identifier of its own).</summary>
    public const string Workout = "HKWorkout";

    /// <summary>HKWorkoutActivityTypeOther: the category of a workout whose activity the table does not name (the name stays in metadata).</summary>
    public const int OtherWorkoutActivity = 3000;

    private static readonly FrozenDictionary<string, HealthKitMapping> Records = new Dictionary<string, HealthKitMapping>(StringComparer.Ordinal)
    {
        ["HKQuantityTypeIdentifierHeartRate"] = new(DataType.HeartRate),
        ["HKQuantityTypeIdentifierHeartRateVariabilitySDNN"] = new(DataType.HeartRateVariabilitySdnn),
        ["HKQuantityTypeIdentifierRestingHeartRate"] = new(DataType.RestingHeartRate),
        ["HKQuantityTypeIdentifierStepCount"] = new(DataType.Steps),
        ["HKQuantityTypeIdentifierDistanceWalkingRunning"] = new(DataType.Distance),
        ["HKQuantityTypeIdentifierActiveEnergyBurned"] = new(DataType.ActiveEnergy),
        ["HKQuantityTypeIdentifierBasalEnergyBurned"] = new(DataType.BasalEnergy),
        ["HKQuantityTypeIdentifierAppleExerciseTime"] = new(DataType.ExerciseTime),
        ["HKCategoryTypeIdentifierSleepAnalysis"] = new(DataType.SleepAnalysis),
        ["HKQuantityTypeIdentifierOxygenSaturation"] = new(DataType.OxygenSaturation, FractionPercent: true),
        ["HKQuantityTypeIdentifierBloodPressureSystolic"] = new(DataType.BloodPressureSystolic),
        ["HKQuantityTypeIdentifierBloodPressureDiastolic"] = new(DataType.BloodPressureDiastolic),
        ["HKQuantityTypeIdentifierBodyMass"] = new(DataType.BodyMass),
        ["HKQuantityTypeIdentifierBodyFatPercentage"] = new(DataType.BodyFatPercentage, FractionPercent: true),
        ["HKQuantityTypeIdentifierBloodGlucose"] = new(DataType.BloodGlucose),
        ["HKQuantityTypeIdentifierRespiratoryRate"] = new(DataType.RespiratoryRate),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<DataType, string> Names = Records
        .Select(pair => KeyValuePair.Create(pair.Value.Type, pair.Key))
        .Append(KeyValuePair.Create(DataType.Workout, Workout))
        .ToFrozenDictionary();

    /// <summary>HKCategoryValueSleepAnalysis* → <see cref="SleepStage"/> (Core is what HealthKit calls light sleep).</summary>
    private static readonly FrozenDictionary<string, SleepStage> SleepValues = new Dictionary<string, SleepStage>(StringComparer.Ordinal)
    {
        ["HKCategoryValueSleepAnalysisInBed"] = SleepStage.InBed,
        ["HKCategoryValueSleepAnalysisAwake"] = SleepStage.Awake,
        ["HKCategoryValueSleepAnalysisAsleep"] = SleepStage.AsleepUnspecified,
        ["HKCategoryValueSleepAnalysisAsleepUnspecified"] = SleepStage.AsleepUnspecified,
        ["HKCategoryValueSleepAnalysisAsleepCore"] = SleepStage.Light,
        ["HKCategoryValueSleepAnalysisAsleepDeep"] = SleepStage.Deep,
        ["HKCategoryValueSleepAnalysisAsleepREM"] = SleepStage.Rem,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>HKWorkoutActivityType* → its HealthKit raw value, the workout sample's category (DATA_TYPE_WORKOUT: "the vendor's activity code").</summary>
    private static readonly FrozenDictionary<string, int> WorkoutActivities = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["HKWorkoutActivityTypeAmericanFootball"] = 1,
        ["HKWorkoutActivityTypeBadminton"] = 4,
        ["HKWorkoutActivityTypeBaseball"] = 5,
        ["HKWorkoutActivityTypeBasketball"] = 6,
        ["HKWorkoutActivityTypeCrossTraining"] = 11,
        ["HKWorkoutActivityTypeCycling"] = 13,
        ["HKWorkoutActivityTypeDance"] = 14,
        ["HKWorkoutActivityTypeElliptical"] = 16,
        ["HKWorkoutActivityTypeFunctionalStrengthTraining"] = 20,
        ["HKWorkoutActivityTypeGolf"] = 21,
        ["HKWorkoutActivityTypeHiking"] = 24,
        ["HKWorkoutActivityTypeMartialArts"] = 28,
        ["HKWorkoutActivityTypeMindAndBody"] = 29,
        ["HKWorkoutActivityTypeRowing"] = 35,
        ["HKWorkoutActivityTypeRunning"] = 37,
        ["HKWorkoutActivityTypeSoccer"] = 41,
        ["HKWorkoutActivityTypeStairClimbing"] = 44,
        ["HKWorkoutActivityTypeSwimming"] = 46,
        ["HKWorkoutActivityTypeTennis"] = 48,
        ["HKWorkoutActivityTypeTraditionalStrengthTraining"] = 50,
        ["HKWorkoutActivityTypeWalking"] = 52,
        ["HKWorkoutActivityTypeYoga"] = 57,
        ["HKWorkoutActivityTypeCoreTraining"] = 59,
        ["HKWorkoutActivityTypeFlexibility"] = 62,
        ["HKWorkoutActivityTypeHighIntensityIntervalTraining"] = 63,
        ["HKWorkoutActivityTypeMixedCardio"] = 73,
        ["HKWorkoutActivityTypePilates"] = 66,
        ["HKWorkoutActivityTypeCooldown"] = 80,
        ["HKWorkoutActivityTypeOther"] = OtherWorkoutActivity,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Every data type an export can produce (the source's anchored types).</summary>
    public static IReadOnlyCollection<DataType> DataTypes { get; } = [.. Names.Keys.Order()];

    public static bool TryGetRecord(string identifier, out HealthKitMapping mapping) => Records.TryGetValue(identifier, out mapping!);

    /// <summary>The HealthKit identifier a data type came from (the summary's row).</summary>
    public static string NameOf(DataType type) => Names.TryGetValue(type, out var name) ? name : type.ToString();

    public static bool TryGetSleepStage(string value, out SleepStage stage) => SleepValues.TryGetValue(value, out stage);

    public static bool TryGetWorkoutActivity(string value, out int code) => WorkoutActivities.TryGetValue(value, out code);

    /// <summary>
    /// HealthKit unit strings the server spells differently: "Cal" is the large (food) calorie, a kilocalorie (the server's
    /// "cal" is the small one); glucose in mmol carries its molar mass ("mmol&lt;180.1558800000541&gt;/L").
    /// </summary>
    public static string ServerUnit(string unit, HealthKitMapping mapping)
    {
        if (mapping.FractionPercent && unit == "%")
        {
            return "1";
        }

        if (unit == "Cal")
        {
            return "kcal";
        }

        return unit.StartsWith("mmol<", StringComparison.Ordinal) && unit.EndsWith(">/L", StringComparison.Ordinal) ? "mmol/L" : unit;
    }
}
