using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Query;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

internal sealed partial class QueryService
{
    /// <summary>The caller's stored source priority (empty: none stored, or a provider that keeps none).</summary>
    public override async Task<GetSourcePriorityResponse> GetSourcePriority(GetSourcePriorityRequest request, ServerCallContext context)
    {
        var userId = OwnUser(context);
        var response = new GetSourcePriorityResponse();
        response.SourcePriority.AddRange(SourcePriorityOrder.ToWire(await StoredPriorityAsync(userId, context.CancellationToken)));
        return response;
    }

    /// <summary>Replaces the caller's stored source priority.</summary>
    public override async Task<SetSourcePriorityResponse> SetSourcePriority(SetSourcePriorityRequest request, ServerCallContext context)
    {
        var userId = OwnUser(context);
        var order = SourcePriorityOrder.From(request.SourcePriority);
        if (store is not ISourcePriorityStore priorities)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, $"the {store.GetType().Name} storage provider does not keep source priorities; pass source_priority with each GetAggregates instead."));
        }

        // The caller authenticated with a token of this user, so the user exists: false would mean it was deleted meanwhile.
        if (!await priorities.SetSourcePriorityAsync(userId, order, context.CancellationToken))
        {
            throw new RpcException(new Status(StatusCode.NotFound, "the caller's user no longer exists."));
        }

        var response = new SetSourcePriorityResponse();
        response.SourcePriority.AddRange(SourcePriorityOrder.ToWire(order));
        return response;
    }

    /// <summary>The user's stored order (empty when none, or the provider keeps none).</summary>
    private async Task<IReadOnlyList<int>> StoredPriorityAsync(string userId, CancellationToken ct) =>
        store is ISourcePriorityStore priorities ? await priorities.GetSourcePriorityAsync(userId, ct) ?? [] : [];

    private static string OwnUser(ServerCallContext context) =>
        context.Reader().UserId ?? throw new GrantDeniedException("a share code only reads the data it was issued for; the source priority belongs to the user's own token.");
}
