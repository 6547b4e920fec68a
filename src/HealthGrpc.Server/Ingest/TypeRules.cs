using System.Collections.Frozen;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Ingest;

/// <summary>
/// Canonical units, accepted units and plausible ranges per data type, as documented on <see cref="DataType"/>
/// in data_type.proto. Ranges reject sensor glitches (a heart rate of 412), not unusual physiology.
/// </summary>
internal static class TypeRules
{
    private static readonly FrozenDictionary<DataType, TypeRule> Rules = Build();

    public static bool TryGet(DataType type, out TypeRule rule) => Rules.TryGetValue(type, out rule!);

    private static FrozenDictionary<DataType, TypeRule> Build()
    {
        var perMinute = Units("count/min", ("bpm", 1), ("1/min", 1), ("count/s", 60), ("hz", 60));
        var milliseconds = Units("ms", ("s", 1000));
        var count = Units("count");
        var meters = Units("m", ("km", 1000), ("cm", 0.01), ("mi", 1609.344), ("ft", 0.3048), ("yd", 0.9144));
        var kilocalories = Units("kcal", ("cal", 0.001), ("kj", 1 / 4.184), ("j", 1 / 4184.0), ("cal_th", 0.001));
        var minutes = Units("min", ("s", 1 / 60.0), ("h", 60), ("ms", 1 / 60000.0));
        var percent = Units("%", ("1", 100));
        var mmHg = Units("mmhg", ("kpa", 7.50062));
        var kilograms = Units("kg", ("g", 0.001), ("lb", 0.45359237), ("st", 6.35029318), ("oz", 0.028349523125));
        var glucose = Units("mg/dl", ("mmol/l", 18.0156));
        var none = Units(string.Empty);

        return new Dictionary<DataType, TypeRule>
        {
            [DataType.HeartRate] = Quantity("count/min", perMinute, 20, 300),
            [DataType.HeartRateVariabilitySdnn] = Quantity("ms", milliseconds, 0, 500),
            [DataType.RestingHeartRate] = Quantity("count/min", perMinute, 20, 250),
            [DataType.Steps] = Quantity("count", count, 0, 100_000),
            [DataType.Distance] = Quantity("m", meters, 0, 1_000_000),
            [DataType.ActiveEnergy] = Quantity("kcal", kilocalories, 0, 20_000),
            [DataType.BasalEnergy] = Quantity("kcal", kilocalories, 0, 20_000),
            [DataType.ExerciseTime] = Quantity("min", minutes, 0, 1440),
            [DataType.SleepAnalysis] = Category(none, (int)SleepStage.InBed, (int)SleepStage.OutOfBed),
            [DataType.Ecg] = Category(none, (int)EcgClassification.SinusRhythm, (int)EcgClassification.InconclusiveOther),
            [DataType.OxygenSaturation] = Quantity("%", percent, 50, 100),
            [DataType.BloodPressureSystolic] = Quantity("mmHg", mmHg, 40, 300),
            [DataType.BloodPressureDiastolic] = Quantity("mmHg", mmHg, 20, 200),
            [DataType.BodyMass] = Quantity("kg", kilograms, 0.5, 650),
            [DataType.BodyFatPercentage] = Quantity("%", percent, 1, 75),
            [DataType.BloodGlucose] = Quantity("mg/dL", glucose, 10, 1000),
            [DataType.RespiratoryRate] = Quantity("count/min", perMinute, 2, 80),
            [DataType.Workout] = Category(none, 0, int.MaxValue),
            [DataType.RrInterval] = Quantity("ms", milliseconds, 200, 3000),
        }.ToFrozenDictionary();
    }

    private static TypeRule Quantity(string canonical, FrozenDictionary<string, UnitConversion> units, double min, double max) =>
        new(IsCategory: false, canonical, units, min, max);

    private static TypeRule Category(FrozenDictionary<string, UnitConversion> units, int min, int max) =>
        new(IsCategory: true, string.Empty, units, min, max);

    /// <summary>Unit names are matched case-insensitively ("mg/dL" = "mg/dl"); the canonical one converts as identity.</summary>
    private static FrozenDictionary<string, UnitConversion> Units(string canonical, params (string Unit, double Factor)[] others)
    {
        var units = new Dictionary<string, UnitConversion>(StringComparer.OrdinalIgnoreCase) { [canonical] = UnitConversion.Identity };
        foreach (var (unit, factor) in others)
        {
            units[unit] = new UnitConversion(factor);
        }

        return units.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}
