using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Export;

/// <summary>
/// How one data type reads as a FHIR R4 Observation: its LOINC code, the UCUM unit of the stored value, its category.
/// StoredUnit is the server's canonical unit of the type (data_type.proto): a value in any other unit is skipped, not
/// mislabelled.
/// </summary>
internal sealed record LoincCode(string Code, string Display, string StoredUnit, string UcumCode, string UnitDisplay, string Category);

/// <summary>
/// The one table from data types to LOINC codes. A type not listed here (sleep, workouts, ECG, RR intervals, distance,
/// basal energy, vendor types) has no single LOINC observation code this export is sure of: `export fhir` counts its
/// items as skipped in the summary instead of inventing a code.
/// </summary>
internal static class LoincCodes
{
    private const string VitalSigns = "vital-signs";
    private const string Activity = "activity";

    private static readonly Dictionary<DataType, LoincCode> ByType = new()
    {
        [DataType.HeartRate] = new("8867-4", "Heart rate", "count/min", "/min", "beats/minute", VitalSigns),
        [DataType.HeartRateVariabilitySdnn] = new("80404-7", "R-R interval.standard deviation (Heart rate variability)", "ms", "ms", "ms", VitalSigns),
        [DataType.RestingHeartRate] = new("40443-4", "Heart rate --resting", "count/min", "/min", "beats/minute", VitalSigns),
        [DataType.Steps] = new("55423-8", "Number of steps in unspecified time Pedometer", "count", "{steps}", "steps", Activity),
        [DataType.ActiveEnergy] = new("41981-2", "Calories burned", "kcal", "kcal", "kcal", Activity),
        [DataType.ExerciseTime] = new("55411-3", "Exercise duration", "min", "min", "min", Activity),
        [DataType.OxygenSaturation] = new("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%", "%", VitalSigns),
        [DataType.BloodPressureSystolic] = new("8480-6", "Systolic blood pressure", "mmHg", "mm[Hg]", "mmHg", VitalSigns),
        [DataType.BloodPressureDiastolic] = new("8462-4", "Diastolic blood pressure", "mmHg", "mm[Hg]", "mmHg", VitalSigns),
        [DataType.BodyMass] = new("29463-7", "Body weight", "kg", "kg", "kg", VitalSigns),
        [DataType.BodyFatPercentage] = new("41982-0", "Percentage of body fat Measured", "%", "%", "%", VitalSigns),
        [DataType.BloodGlucose] = new("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", "mg/dL", "mg/dL", "laboratory"),
        [DataType.RespiratoryRate] = new("9279-1", "Respiratory rate", "count/min", "/min", "breaths/minute", VitalSigns),
    };

    public static LoincCode? Of(DataType type) => ByType.GetValueOrDefault(type);
}
