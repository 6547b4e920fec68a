using Grpc.Core;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Query;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

internal sealed partial class QueryService
{
    /// <summary>Per type and UTC day, the count and uuid digest of the caller's own samples (reconciliation).</summary>
    public override async Task<GetDailyDigestResponse> GetDailyDigest(GetDailyDigestRequest request, ServerCallContext context)
    {
        if (store is not IDailyDigestStore digests)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "GetDailyDigest is not available on this server's store provider."));
        }

        var access = await readers.ResolveAsync(context.Reader(), "", context.CancellationToken);
        if (access.Scope is not null)
        {
            // A digest serves the owner's own sync check; a grant's reader has ReadSamples/GetAggregates.
            throw new GrantDeniedException("GetDailyDigest reads only your own data, not through a share code.");
        }

        var query = DailyDigestRequest.From(request);
        var records = await digests.ReadDailyDigestsAsync(
            access.OwnerUserId, query.Types, query.FirstDayUnixMs, query.Days, query.DeviceId, SampleDigest.Hash, context.CancellationToken).ConfigureAwait(false);
        var response = new GetDailyDigestResponse();
        foreach (var record in records)
        {
            response.Digests.Add(new DailyDigest
            {
                Type = (DataType)record.Type,
                DayStart = StoredItemWire.Time(record.DayStartUnixMs),
                Count = (ulong)record.Count,
                Digest = record.Digest,
            });
        }

        return response;
    }
}
