namespace HealthGrpc.Server.Ingest;

/// <summary>What a data type accepts: its canonical unit, the units convertible into it and its plausible range.</summary>
internal sealed record TypeRule(
    bool IsCategory,
    string CanonicalUnit,
    IReadOnlyDictionary<string, UnitConversion> Units,
    double Min,
    double Max);

/// <summary>canonical = value × Factor + Offset.</summary>
internal readonly record struct UnitConversion(double Factor, double Offset = 0)
{
    public static readonly UnitConversion Identity = new(1);

    public double ToCanonical(double value) => (value * Factor) + Offset;
}
