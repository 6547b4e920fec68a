using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Insights;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

internal sealed partial class InsightService
{
    /// <summary>
    /// A page of insights, newest first. Through grants: only the kinds whose data type a grant covers, and of those only
    /// insights whose whole period the grant's date range covers (a page may then hold fewer than page_size).
    /// </summary>
    public override async Task<ListInsightsResponse> ListInsights(ListInsightsRequest request, ServerCallContext context)
    {
        var access = await readers.ResolveAsync(context.Reader(), request.OwnerUserId, context.CancellationToken);
        var list = InsightListRequest.From(request);
        var kinds = list.Kinds;
        if (access.Scope is { } scope)
        {
            kinds = kinds.Where(kind => scope.CoversType((int)InsightKinds.DataTypeOf(kind))).ToArray();
            if (kinds.Count == 0)
            {
                throw new GrantDeniedException("no active grant of owner_user_id covers the data types of the requested insight kinds.");
            }
        }

        var types = kinds.Select(kind => (int)InsightKinds.DataTypeOf(kind)).Order().ToArray();
        await access.RecordAsync("InsightService.ListInsights", types, null, null, context.CancellationToken);
        var page = await insights.ListInsightsAsync(
            new InsightQuery(access.OwnerUserId, list.UnacknowledgedOnly, list.IncludeClosed, kinds, list.BeforeId, list.PageSize + 1),
            context.CancellationToken).ConfigureAwait(false);
        var response = new ListInsightsResponse();
        var shown = page.Take(list.PageSize).ToArray();
        foreach (var insight in shown)
        {
            if (access.Scope is not { } shared || shared.CoversSlot(insight.Finding.DataType, insight.Finding.PeriodStartUnixMs, insight.Finding.PeriodEndUnixMs))
            {
                response.Insights.Add(InsightWire.ToWire(insight));
            }
        }

        if (page.Count > list.PageSize)
        {
            response.NextPageToken = InsightListRequest.Token(shown[^1].Id);
        }

        return response;
    }
}
