namespace HealthGrpc.Storage.Postgres;

/// <summary>Options of <see cref="PgHealthProbe"/> (the <c>Storage:HealthProbe</c> section).</summary>
public sealed record PgHealthProbeOptions
{
    /// <summary>How often the database is probed; the health check answers from the latest probe in between.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest one probe (connect plus one statement) may take before it counts as unreachable.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);
}
