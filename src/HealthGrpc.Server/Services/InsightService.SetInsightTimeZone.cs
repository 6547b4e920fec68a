using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Query;
using Microsoft.AspNetCore.Authorization;
using NodaTime;

namespace HealthGrpc.Server.Services;

internal sealed partial class InsightService
{
    /// <summary>Stores the caller's zone (empty: UTC) and asks for a recompute of their insights in it.</summary>
    [Authorize]
    public override async Task<SetInsightTimeZoneResponse> SetInsightTimeZone(SetInsightTimeZoneRequest request, ServerCallContext context)
    {
        var id = request.TimeZone;
        var zone = id.Length == 0 ? DateTimeZone.Utc
            : DateTimeZoneProviders.Tzdb.GetZoneOrNull(id)
              ?? throw QueryRejectedException.Invalid("time_zone", $"'{(id.Length > 64 ? id[..64] + "…" : id)}' is not an IANA time zone of tzdb {DateTimeZoneProviders.Tzdb.VersionId}.");
        var userId = context.UserId();
        await insights.SetInsightTimeZoneAsync(userId, id.Length == 0 ? null : zone.Id, context.CancellationToken).ConfigureAwait(false);
        recomputer.Request(userId);
        return new SetInsightTimeZoneResponse { TimeZone = zone.Id };
    }
}
