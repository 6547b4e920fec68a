namespace HealthGrpc.Server.Quotas;

/// <summary>A batch refused as a whole because it would take its user over <see cref="Quota"/>; StatusMapper answers RESOURCE_EXHAUSTED.</summary>
internal sealed class QuotaExceededException(string quota, long limit, long usage, string message) : Exception(message)
{
    /// <summary>devices, samples_per_day or stored_bytes, as ErrorDetail.quota names it.</summary>
    public string Quota { get; } = quota;

    public long Limit { get; } = limit;

    public long Usage { get; } = usage;
}
