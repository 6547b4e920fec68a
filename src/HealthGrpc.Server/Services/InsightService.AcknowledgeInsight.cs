using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Insights;
using HealthGrpc.Server.Query;
using Microsoft.AspNetCore.Authorization;

namespace HealthGrpc.Server.Services;

internal sealed partial class InsightService
{
    /// <summary>Acknowledges one of the caller's insights (the first acknowledgement's time is kept).</summary>
    [Authorize]
    public override async Task<AcknowledgeInsightResponse> AcknowledgeInsight(AcknowledgeInsightRequest request, ServerCallContext context)
    {
        if (request.InsightId.Length == 0)
        {
            throw QueryRejectedException.Invalid("insight_id", "is required.");
        }

        var insight = await insights.AcknowledgeInsightAsync(
            context.UserId(), request.InsightId, clock.GetUtcNow().ToUnixTimeMilliseconds(), context.CancellationToken).ConfigureAwait(false)
            ?? throw new InsightNotFoundException($"insight_id '{(request.InsightId.Length > 64 ? request.InsightId[..64] + "…" : request.InsightId)}' is not an insight of yours.");
        return new AcknowledgeInsightResponse { Insight = InsightWire.ToWire(insight) };
    }
}
