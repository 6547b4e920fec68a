using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Query;

namespace HealthGrpc.Server.Services;

internal sealed partial class QueryService
{
    /// <summary>A page of samples, series and waveform chunks overlapping a range; later pages read the first page's data.</summary>
    public override async Task<ReadSamplesResponse> ReadSamples(ReadSamplesRequest request, ServerCallContext context)
    {
        var owner = QueryOwner.Resolve(context.UserId(), request.OwnerUserId);
        var read = SampleReadRequest.From(request, owner);
        var page = await store.ReadSamplesAsync(read.Query, context.CancellationToken).ConfigureAwait(false);
        var response = new ReadSamplesResponse();
        SampleWire.AddTo(response, page.Items);
        if (page.HasMore)
        {
            response.NextPageToken = SamplePageToken.Encode(read.Fingerprint, page.SnapshotSequence, page.Items[^1].Position);
        }

        return response;
    }
}
