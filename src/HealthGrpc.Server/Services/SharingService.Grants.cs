using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Query;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Services;

internal sealed partial class SharingService
{
    public override async Task<CreateGrantResponse> CreateGrant(CreateGrantRequest request, ServerCallContext context)
    {
        var now = clock.GetUtcNow();
        var terms = GrantTerms.From(request, context.UserId(), now);
        var issued = await GrantIssuer.CreateAsync(grants, context.UserId(), terms, now, context.CancellationToken);
        if (issued.Grant is null)
        {
            // The contract answers an unknown grantee like a malformed one (the owner is the authenticated caller).
            throw QueryRejectedException.Invalid("grantee_user_id", "names no user of this server.");
        }

        return new CreateGrantResponse { Grant = GrantWire.ToWire(issued.Grant), ShareCode = issued.ShareCode ?? "" };
    }

    public override async Task<ListGrantsResponse> ListGrants(ListGrantsRequest request, ServerCallContext context)
    {
        var side = request.Role switch
        {
            GrantRole.Unspecified => GrantSide.Either,
            GrantRole.Owner => GrantSide.Owner,
            GrantRole.Grantee => GrantSide.Grantee,
            _ => throw QueryRejectedException.Invalid("role", $"is {(int)request.Role}, not a known grant role."),
        };
        var found = await grants.ListGrantsAsync(context.UserId(), side, request.IncludeInactive, clock.GetUtcNow(), context.CancellationToken);
        var response = new ListGrantsResponse();
        response.Grants.AddRange(found.Select(GrantWire.ToWire));
        return response;
    }

    public override async Task<RevokeGrantResponse> RevokeGrant(RevokeGrantRequest request, ServerCallContext context)
    {
        if (request.GrantId.Length == 0)
        {
            throw QueryRejectedException.Invalid("grant_id", "is required.");
        }

        var owner = context.UserId();
        if (await grants.RevokeGrantAsync(request.GrantId, owner, clock.GetUtcNow(), context.CancellationToken) == GrantRevocation.NotFound)
        {
            throw new RpcException(new Status(StatusCode.NotFound, "grant_id names no grant you gave."));
        }

        // Open Subscribe streams of the owner's feed check their grants now instead of at their next interval.
        hub.Wake(owner);
        var revoked = await grants.FindGrantAsync(request.GrantId, context.CancellationToken)
            ?? throw new InvalidOperationException($"grant {request.GrantId} was revoked but cannot be read back.");
        return new RevokeGrantResponse { Grant = GrantWire.ToWire(revoked) };
    }
}
