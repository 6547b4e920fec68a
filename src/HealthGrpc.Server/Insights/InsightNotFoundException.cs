namespace HealthGrpc.Server.Insights;

/// <summary>The caller has no insight with this id: NOT_FOUND (see <see cref="Services.StatusMapper"/>).</summary>
internal sealed class InsightNotFoundException(string message) : Exception(message);
