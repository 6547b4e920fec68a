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
        var access = await readers.ResolveAsync(context.Reader(), request.OwnerUserId, context.CancellationToken);
        var read = SampleReadRequest.From(request, access.OwnerUserId);
        var query = read.Query;
        if (access.Scope is { } scope)
        {
            GrantedReads.Check(scope, query.Types, query.FromUnixMs, query.ToUnixMs);
            query = GrantedReads.Clip(scope, query);
        }

        await access.RecordAsync("QueryService.ReadSamples", read.Query.Types, read.Query.FromUnixMs, read.Query.ToUnixMs, context.CancellationToken);
        var page = await store.ReadSamplesAsync(query, context.CancellationToken).ConfigureAwait(false);
        var response = new ReadSamplesResponse();
        SampleWire.AddTo(response, access.Scope is { } shared ? page.Items.Where(item => GrantedReads.IsShared(shared, item)).ToArray() : page.Items);
        if (page.HasMore)
        {
            // Past the page's last item read, shared or not, so the next page moves on.
            response.NextPageToken = SamplePageToken.Encode(read.Fingerprint, page.SnapshotSequence, page.Items[^1].Position);
        }

        return response;
    }
}
