namespace HealthGrpc.Contracts;

/// <summary>One point of a <see cref="V1.Series"/>: an instant and a fixed-point value (value × 10^decimal_exponent).</summary>
public readonly record struct SeriesPoint(long UnixMilliseconds, long ScaledValue);
