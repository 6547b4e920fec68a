using System.Globalization;
using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Query;
using HealthGrpc.Server.Sharing;

namespace HealthGrpc.Server.Services;

internal sealed partial class SharingService
{
    private const int DefaultEventPage = 100;
    private const int MaxEventPage = 1000;
    private const string EventTokenPrefix = "a1.";

    /// <summary>The owner's audit log, newest first; page tokens are "a1." + the id of the last event returned.</summary>
    public override async Task<ListAccessEventsResponse> ListAccessEvents(ListAccessEventsRequest request, ServerCallContext context)
    {
        var pageSize = request.PageSize == 0 ? DefaultEventPage : (int)Math.Min(request.PageSize, MaxEventPage);
        long? before = null;
        if (request.PageToken.Length > 0)
        {
            if (!request.PageToken.StartsWith(EventTokenPrefix, StringComparison.Ordinal)
                || !long.TryParse(request.PageToken.AsSpan(EventTokenPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                throw QueryRejectedException.Invalid("page_token", "is not a token of a previous ListAccessEvents page.");
            }

            before = id;
        }

        // One more than the page, to know whether another page follows.
        var events = await grants.ListAccessAsync(
            context.UserId(), request.GrantId.Length == 0 ? null : request.GrantId, before, pageSize + 1, context.CancellationToken);
        var response = new ListAccessEventsResponse();
        response.Events.AddRange(events.Take(pageSize).Select(GrantWire.ToWire));
        if (events.Count > pageSize)
        {
            response.NextPageToken = EventTokenPrefix + events[pageSize - 1].Id.ToString(CultureInfo.InvariantCulture);
        }

        return response;
    }
}
