using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Auth;
using HealthGrpc.Server.Query;
using HealthGrpc.Server.Sharing;

namespace HealthGrpc.Server.Services;

internal sealed partial class QueryService
{
    /// <summary>Per-bucket statistics in a time zone, one source per 15-minute slot: from the rollups (quantity types) or the category samples (durations).</summary>
    public override async Task<GetAggregatesResponse> GetAggregates(GetAggregatesRequest request, ServerCallContext context)
    {
        var access = await readers.ResolveAsync(context.Reader(), request.OwnerUserId, context.CancellationToken);
        // The owner's stored order ranks after the request's own (a grantee sees the owner's choice of sources).
        var query = AggregateRequest.From(request, access.OwnerUserId, await StoredPriorityAsync(access.OwnerUserId, context.CancellationToken));
        var buckets = LocalBuckets.Cover(query.Zone, query.BucketSize, query.FromUnixMs, query.ToUnixMs);
        if (access.Scope is { } scope)
        {
            GrantedReads.Check(scope, [(int)query.Type], buckets[0].StartUnixMs, buckets[^1].EndUnixMs);
        }

        await access.RecordAsync("QueryService.GetAggregates", [(int)query.Type], query.FromUnixMs, query.ToUnixMs, context.CancellationToken);
        if (query.IsCategory)
        {
            return await CategoryAggregatesAsync(query, buckets, access.Scope, context.CancellationToken).ConfigureAwait(false);
        }

        var rollups = await store.ReadRollupsAsync(
            query.OwnerUserId, (int)query.Type, buckets[0].StartUnixMs, buckets[^1].EndUnixMs, context.CancellationToken).ConfigureAwait(false);
        if (access.Scope is { } shared)
        {
            rollups = GrantedReads.SharedRollups(shared, rollups);
        }

        var response = new GetAggregatesResponse { Unit = query.Unit };
        foreach (var result in RollupAggregator.Aggregate(rollups, buckets, query.Priority))
        {
            response.Buckets.Add(ToWire(result, query.Functions));
        }

        return response;
    }

    private async Task<GetAggregatesResponse> CategoryAggregatesAsync(
        AggregateRequest query, List<BucketRange> buckets, GrantScope? scope, CancellationToken ct)
    {
        var type = (int)query.Type;
        var samples = await CategorySamples.ReadAsync(store, query.OwnerUserId, type, buckets[0].StartUnixMs, buckets[^1].EndUnixMs, scope, ct)
            .ConfigureAwait(false);
        // Through a grant, like the rollups: only slots wholly inside a grant (a slot partly outside would mix in samples not shared).
        Func<long, bool>? isSlotShared = scope is null ? null : slot => scope.CoversSlot(type, slot, slot + (15 * 60 * 1000));
        var response = new GetAggregatesResponse { Unit = query.Unit };
        var withDurations = query.Functions.Contains(AggregateFunction.Duration);
        foreach (var result in CategoryAggregator.Aggregate(samples, buckets, query.Priority, isSlotShared))
        {
            var bucket = new AggregateBucket
            {
                StartTime = StoredItemWire.Time(result.Range.StartUnixMs),
                EndTime = StoredItemWire.Time(result.Range.EndUnixMs),
                Count = (ulong)result.Count,
                ChosenSourceKind = (DeviceKind)result.ChosenSourceKind,
            };
            if (withDurations)
            {
                foreach (var total in result.Totals)
                {
                    bucket.Categories.Add(new CategoryDuration { Value = total.Value, DurationMs = (ulong)total.DurationMs, Count = (ulong)total.Count });
                }
            }

            response.Buckets.Add(bucket);
        }

        return response;
    }

    private static AggregateBucket ToWire(AggregateResult result, IReadOnlySet<AggregateFunction> functions)
    {
        var bucket = new AggregateBucket
        {
            StartTime = StoredItemWire.Time(result.Range.StartUnixMs),
            EndTime = StoredItemWire.Time(result.Range.EndUnixMs),
            Count = (ulong)result.Count,
            ChosenSourceKind = (DeviceKind)result.ChosenSourceKind,
        };
        if (functions.Contains(AggregateFunction.Sum))
        {
            bucket.Sum = result.Sum;
        }

        // Statistics of no value are left unset rather than invented.
        if (result.Count > 0)
        {
            if (functions.Contains(AggregateFunction.Avg))
            {
                bucket.Avg = result.Average;
            }

            if (functions.Contains(AggregateFunction.Min))
            {
                bucket.Min = result.Min;
            }

            if (functions.Contains(AggregateFunction.Max))
            {
                bucket.Max = result.Max;
            }

            if (functions.Contains(AggregateFunction.Latest))
            {
                bucket.Latest = result.Latest;
            }
        }

        return bucket;
    }
}
