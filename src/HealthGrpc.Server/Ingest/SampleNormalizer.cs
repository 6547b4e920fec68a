using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Ingest;

/// <summary>Checks and converts single values against a type's rule; shared by samples, series points and waveforms.</summary>
internal static class SampleNormalizer
{
    private const int MaxExponent = 9;

    /// <summary>The rule for a type, or the problem with it. Vendor types get a permissive rule that keeps their unit.</summary>
    public static Problem? ResolveType(DataType type, string vendorType, string unit, out TypeRule rule, out UnitConversion conversion)
    {
        conversion = UnitConversion.Identity;
        if (type == DataType.Vendor)
        {
            rule = new TypeRule(IsCategory: false, unit, new Dictionary<string, UnitConversion>(), double.MinValue, double.MaxValue);
            return IsValidVendorType(vendorType)
                ? null
                : new Problem(RejectReason.UnknownType, $"vendor_type '{vendorType}' must be 1..128 bytes of lowercase letters, digits and '._-/', with a namespace.");
        }

        if (!TypeRules.TryGet(type, out rule))
        {
            return new Problem(RejectReason.UnknownType, $"data type {(int)type} is not known to this server.");
        }

        if (vendorType.Length > 0)
        {
            return new Problem(RejectReason.UnknownType, $"vendor_type is only allowed with DATA_TYPE_VENDOR, not {type}.");
        }

        if (rule.IsCategory)
        {
            return null;
        }

        if (unit.Length == 0)
        {
            return null;
        }

        return rule.Units.TryGetValue(unit, out conversion)
            ? null
            : new Problem(RejectReason.UnitNotConvertible, $"unit '{unit}' cannot be converted to {rule.CanonicalUnit} for {type}.");
    }

    public static Problem? CheckExponent(int exponent) =>
        exponent is >= -MaxExponent and <= MaxExponent
            ? null
            : new Problem(RejectReason.InvalidScale, $"decimal_exponent {exponent} is outside -9..9.");

    public static Problem? CheckZone(int? zoneOffsetMinutes) =>
        zoneOffsetMinutes is null or (>= -720 and <= 840)
            ? null
            : new Problem(RejectReason.FieldTooLarge, $"zone_offset_minutes {zoneOffsetMinutes} is outside -720..840.");

    /// <summary>Converts a raw value into the canonical unit and checks finiteness and range.</summary>
    public static Problem? Quantity(double raw, TypeRule rule, UnitConversion conversion, DataType type, out double canonical)
    {
        canonical = conversion.ToCanonical(raw);
        if (!double.IsFinite(raw) || !double.IsFinite(canonical))
        {
            return new Problem(RejectReason.NonFiniteValue, $"{type} value {raw} is not a finite number.");
        }

        return canonical >= rule.Min && canonical <= rule.Max
            ? null
            : new Problem(RejectReason.ValueOutOfRange, $"{type} {canonical:G6} {rule.CanonicalUnit} is outside {rule.Min:G6}..{rule.Max:G6}.");
    }

    public static Problem? Category(int category, TypeRule rule, DataType type) =>
        category >= rule.Min && category <= rule.Max
            ? null
            : new Problem(RejectReason.ValueOutOfRange, $"{type} category {category} is outside {rule.Min}..{rule.Max}.");

    public static double Scale(long scaled, int exponent) => scaled * Math.Pow(10, exponent);

    public static Problem? CheckStart(long startUnixMs, long latestAllowedUnixMs) =>
        startUnixMs <= latestAllowedUnixMs
            ? null
            : new Problem(RejectReason.StartInFuture, $"start {TimeRange.Describe(startUnixMs)} is after {TimeRange.Describe(latestAllowedUnixMs)} (server clock + skew).");

    private static bool IsValidVendorType(string vendorType)
    {
        if (vendorType.Length is 0 or > 128 || !vendorType.Contains('/', StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in vendorType)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-' or '/'))
            {
                return false;
            }
        }

        return true;
    }
}
