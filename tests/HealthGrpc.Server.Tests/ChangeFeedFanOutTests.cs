using System.Reflection;
using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.Server.Tests;

/// <summary>Subscribe fan-out: the subscribers of one user share one store read per commit, and each still gets every change once, in order.</summary>
public sealed class ChangeFeedFanOutTests
{
    private const int Subscribers = 20;
    private const int Commits = 10;

    [Fact]
    public async Task Subscribers_of_one_user_share_the_store_reads_of_each_commit()
    {
        var reads = new ReadCounter();
        // No heartbeat wake-ups during the test: a subscriber woken by its timer reads the store on its own, outside the bound below.
        await using var server = await TestServer.StartAsync(null, builder => reads.Wrap(builder), "--ChangeFeed:HeartbeatInterval", "01:00:00");
        var token = await server.CreateUserAsync("alice");
        var feed = ChangeFeedApi.Client(server);
        var calls = Enumerable.Range(0, Subscribers)
            .Select(_ => feed.Subscribe(new SubscribeRequest(), new CallOptions(SyncApi.As(token).Headers, DateTime.UtcNow.Add(TestTimeouts.Default))))
            .ToList();
        foreach (var call in calls)
        {
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).Bounded());
            Assert.Equal(SubscribeResponse.KindOneofCase.CaughtUp, call.ResponseStream.Current.KindCase);
        }

        var readsBefore = reads.Count;
        for (ulong seq = 1; seq <= Commits; seq++)
        {
            // One commit at a time, each waited for: every commit is its own notification.
            await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(seq, Batches.NewUuids(5))), SyncApi.As(token)).Bounded();
        }

        foreach (var call in calls)
        {
            var sequences = new List<ulong>();
            while (sequences.Count < Commits * 5)
            {
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).Bounded());
                if (call.ResponseStream.Current.Change is { } change)
                {
                    sequences.Add(change.Sequence);
                }
            }

            Assert.Equal(Enumerable.Range(1, Commits * 5).Select(i => (ulong)i), sequences);
            call.Dispose();
        }

        // Each subscriber re-reading the store per commit would be >= Subscribers x Commits (200) reads; shared, a
        // commit costs one read (a second when a refresh races the next commit's notification).
        var liveReads = reads.Count - readsBefore;
        Assert.True(liveReads <= 2 * Commits, $"{liveReads} change-feed reads for {Commits} commits and {Subscribers} subscribers");
    }

    /// <summary>Counts the store's ReadChangesAsync calls.</summary>
    internal sealed class ReadCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Wrap(WebApplicationBuilder builder)
        {
            var original = builder.Services.Last(descriptor => descriptor.ServiceType == typeof(IHealthStore));
            builder.Services.AddSingleton(services => CountingStore.Wrap((IHealthStore)original.ImplementationFactory!(services), this));
        }

        public void Increment() => Interlocked.Increment(ref _count);
    }

#pragma warning disable CA1852 // DispatchProxy derives the proxy type from it at run time: it cannot be sealed.
    public class CountingStore : DispatchProxy
#pragma warning restore CA1852
    {
        private IHealthStore _inner = null!;
        private ReadCounter _reads = null!;

        internal static IHealthStore Wrap(IHealthStore inner, ReadCounter reads)
        {
            var proxy = Create<IHealthStore, CountingStore>();
            var self = (CountingStore)(object)proxy;
            (self._inner, self._reads) = (inner, reads);
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == nameof(IHealthStore.ReadChangesAsync))
            {
                _reads.Increment();
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
