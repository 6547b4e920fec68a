using System.Reflection;
using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.ChangeFeed;
using HealthGrpc.Server.Ingest;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Server.Tests;

/// <summary>The generated ChangeFeedService client as a backend consumer uses it, and the server-side seams the tests read.</summary>
internal static class ChangeFeedApi
{
    public static ChangeFeedService.ChangeFeedServiceClient Client(TestServer server) => new(server.Channel);

    /// <summary>Pages through the whole feed after <paramref name="sinceToken"/>; returns every change and the final token.</summary>
    public static async Task<(List<Change> Changes, string Token, int Pages)> ReadAllAsync(
        TestServer server, string token, uint pageSize, ChangeFilter? filter = null, string sinceToken = "", string owner = "")
    {
        var client = Client(server);
        var changes = new List<Change>();
        var pages = 0;
        while (true)
        {
            var page = await client.ChangesAsync(
                new ChangesRequest { OwnerUserId = owner, SinceToken = sinceToken, PageSize = pageSize, Filter = filter }, SyncApi.As(token)).Bounded();
            pages++;
            Assert.True(page.Changes.Count <= (pageSize == 0 ? 1000 : (int)pageSize), $"page of {page.Changes.Count} changes");
            changes.AddRange(page.Changes);
            if (!page.HasMore)
            {
                return (changes, page.NextToken, pages);
            }

            // A page that promises more must move the reader on, even when its filter left nothing in it.
            Assert.NotEqual(sinceToken, page.NextToken);
            sinceToken = page.NextToken;
        }
    }

    /// <summary>The token the server issues at <paramref name="sequence"/> of <paramref name="owner"/>'s feed (format pinned by ChangeTokenTests).</summary>
    public static string TokenAt(long sequence, string owner = "alice") => ChangeToken.Format(owner, sequence);

    /// <summary>The server's open subscriptions (what each read from the store and wrote).</summary>
    public static IReadOnlyList<FeedSubscriber> Subscribers(TestServer server) => server.Services.GetRequiredService<ChangeFeedHub>().Snapshot();

    /// <summary>Replaces the server's store with one reporting <paramref name="floor"/> as every user's feed floor (retention's seam).</summary>
    public static void WithFeedFloor(WebApplicationBuilder builder, long floor)
    {
        var original = builder.Services.Last(descriptor => descriptor.ServiceType == typeof(IHealthStore));
        builder.Services.AddSingleton(services => FloorStore.Wrap((IHealthStore)original.ImplementationFactory!(services), floor));
    }

    public static async Task<RpcException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call).Bounded();

    /// <summary>Forwards every call to the real store except <see cref="IHealthStore.GetChangeFloorAsync"/>.</summary>
#pragma warning disable CA1852 // DispatchProxy derives the proxy type from it at run time: it cannot be sealed.
    public class FloorStore : DispatchProxy
#pragma warning restore CA1852
    {
        private IHealthStore _inner = null!;
        private long _floor;

        public static IHealthStore Wrap(IHealthStore inner, long floor)
        {
            var proxy = Create<IHealthStore, FloorStore>();
            var self = (FloorStore)(object)proxy;
            (self._inner, self._floor) = (inner, floor);
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == nameof(IHealthStore.GetChangeFloorAsync))
            {
                return Task.FromResult(_floor);
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException error) when (error.InnerException is not null)
            {
                throw error.InnerException;
            }
        }
    }
}
