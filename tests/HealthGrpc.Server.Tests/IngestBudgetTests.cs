using HealthGrpc.Server.Ingest;
using Microsoft.Extensions.DependencyInjection;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

public sealed class IngestBudgetTests
{
    private static IngestBudget Budget(long bytes) => new(new IngestLimits { MaxBytesInProgress = bytes });

    [Fact]
    public async Task Grants_until_spent_then_waits_in_arrival_order()
    {
        var budget = Budget(100);
        var first = await budget.AcquireAsync(60, CancellationToken.None).AsTask().Bounded();
        var second = budget.AcquireAsync(50, CancellationToken.None).AsTask();
        var third = budget.AcquireAsync(10, CancellationToken.None).AsTask();

        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted); // fits, but must not overtake the waiter ahead of it
        budget.Release(first);
        Assert.Equal(50, await second.Bounded());
        Assert.Equal(10, await third.Bounded());
        Assert.Equal(60, budget.InUse);
    }

    [Fact]
    public async Task A_request_larger_than_the_budget_waits_until_it_is_alone()
    {
        var budget = Budget(100);
        var small = await budget.AcquireAsync(1, CancellationToken.None).AsTask().Bounded();
        var huge = budget.AcquireAsync(10_000, CancellationToken.None).AsTask();

        Assert.False(huge.IsCompleted);
        budget.Release(small);
        Assert.Equal(100, await huge.Bounded());
    }

    [Fact]
    public async Task A_cancelled_waiter_lets_the_ones_behind_it_through()
    {
        var budget = Budget(100);
        await budget.AcquireAsync(90, CancellationToken.None).AsTask().Bounded();
        using var cancel = new CancellationTokenSource();
        var blocked = budget.AcquireAsync(50, cancel.Token).AsTask();
        var small = budget.AcquireAsync(10, CancellationToken.None).AsTask();

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.Bounded());
        Assert.Equal(10, await small.Bounded());
        Assert.Equal(100, budget.InUse);
    }

    [Fact]
    public async Task Parsed_batches_are_granted_before_reservations_for_unread_ones()
    {
        var budget = Budget(100);
        var held = await budget.ReserveAsync(100, CancellationToken.None).AsTask().Bounded();
        var unread = budget.ReserveAsync(50, CancellationToken.None).AsTask();
        var parsed = budget.AcquireAsync(60, CancellationToken.None).AsTask();

        budget.Release(held);

        Assert.Equal(60, await parsed.Bounded());
        Assert.False(unread.IsCompleted); // 40 left: the reservation waits for the parsed batch's commit
        Assert.False(budget.TryAcquire(50));
        budget.Release(60);
        Assert.Equal(50, await unread.Bounded());
        Assert.Equal(1, budget.ParsedWaits);
        Assert.Equal(1, budget.ReservationWaits);
    }

    [Fact]
    public async Task TryAcquire_never_overtakes_a_waiting_parsed_batch()
    {
        var budget = Budget(100);
        var held = await budget.AcquireAsync(90, CancellationToken.None).AsTask().Bounded();
        var parsed = budget.AcquireAsync(50, CancellationToken.None).AsTask();

        Assert.False(budget.TryAcquire(5)); // 10 are free, but the parsed batch ahead is holding its memory
        budget.Release(held);
        Assert.Equal(50, await parsed.Bounded());
        Assert.True(budget.TryAcquire(50));
        Assert.Equal(100, budget.InUse);
    }
}

/// <summary>With a budget far smaller than the traffic, streams are throttled by flow control, never failed or dropped.</summary>
public sealed class BackPressureTests
{
    [Fact]
    public async Task Streams_over_a_tiny_ingest_budget_are_slowed_not_failed()
    {
        // Batches of ~13.5 KB against a budget of 20,000 bytes: one batch in progress at a time. All traffic (~1.1 MB)
        // fits the HTTP/2 windows, so no batch is ever stuck half-sent and the stalled-sender release never has to fire.
        await using var server = await TestServer.StartAsync(null, "--Ingest:MaxBytesInProgress", "20000", "--Ingest:StalledSenderRelease", "00:00:30");
        var token = await server.CreateUserAsync("alice");

        async Task RunDevice(int d)
        {
            var (stream, _) = await SyncStream.OpenAsync(server.Client, token, Device($"device-{d}"));
            using var _ = stream;
            for (ulong seq = 1; seq <= 10; seq++)
            {
                await stream.SendAsync(HeartRate(seq, NewUuids(500)));
            }

            for (ulong seq = 1; seq <= 10; seq++)
            {
                Assert.Equal(seq, (await stream.ReadAckAsync()).BatchSeq);
            }

            await stream.CompleteAsync();
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(RunDevice)).Bounded();

        Assert.Equal(40_000, await server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
        var budget = server.Services.GetRequiredService<IngestBudget>();
        Assert.True(budget.ReservationWaits > 0, "the budget never made a stream wait");
        // Streams wait before reading their next batch (its share reserved from the length prefix), never while holding
        // it parsed; taking the budget after parsing made most of the 80 batches wait parsed.
        Assert.Equal(0, budget.ParsedWaits);
    }
}
